from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class OncallConfig(AppConfig):
    name = "oncall"
    verbose_name = "People directory"


class OncallAdminConfig(AdminConfig):
    """``django.contrib.admin`` with the project's site (``oncall.admin_site``)."""

    default_site = "oncall.admin_site.OncallAdminSite"

    def ready(self) -> None:
        super().ready()  # autodiscovers every app's admin module
        from django.contrib import admin

        admin.site.system_read_only()  # type: ignore[attr-defined]
