from django.apps import AppConfig


class SchedulesConfig(AppConfig):
    """Who is on call. Imports no paging module: paging registers the schedules' tick
    step (``swaps_expire``) and sends their notices (``oncall.people.hooks``)."""

    name = "schedules"
    default_auto_field = "django.db.models.BigAutoField"
