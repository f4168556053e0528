from django.apps import AppConfig


class PagingConfig(AppConfig):
    name = "paging"
