from django.apps import AppConfig


class BridgesConfig(AppConfig):
    """Two-way bridges to Slack and PagerDuty: pages out, acknowledgements in."""

    name = "bridges"
