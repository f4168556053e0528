from django.apps import AppConfig


class MeConfig(AppConfig):
    name = "oncall.me"
    label = "me"
    verbose_name = "Engineers' own pages"
