from django.apps import AppConfig


class PeopleConfig(AppConfig):
    """Teams, engineers, contact methods, notification rules, verification.

    The label stays ``oncall`` (the app was the project package before): table names
    (``oncall_engineer``…), migration history and permissions are unchanged."""

    name = "oncall.people"
    label = "oncall"
    verbose_name = "People directory"
