from django.apps import AppConfig


class MeConfig(AppConfig):
    name = "me"
    verbose_name = "Engineers' own pages"
