from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class ProjectConfig(AppConfig):
    """The project package as an app: its management commands (``oncall_run``,
    ``oncall_apply``, ``oncall_export``), admin home template, static files and template
    tags. It has no models; the people directory is ``oncall.people`` (label ``oncall``)."""

    name = "oncall"
    label = "oncall_project"
    verbose_name = "Project"


class OncallAdminConfig(AdminConfig):
    """``django.contrib.admin`` with the project's site (``oncall.admin_site``)."""

    default_site = "oncall.admin_site.OncallAdminSite"

    def ready(self) -> None:
        super().ready()  # autodiscovers every app's admin module
        from django.contrib import admin

        admin.site.system_read_only()  # type: ignore[attr-defined]

        from oncall.admin_bounds import admin_bounds_install

        admin_bounds_install()
