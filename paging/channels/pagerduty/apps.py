from django.apps import AppConfig


class PagerDutyConfig(AppConfig):
    """PagerDuty: forwarding to PagerDuty services (Events API v2) and webhooks v3 in. Its
    models belong to the app labelled ``bridges`` (``paging.channels``)."""

    name = "paging.channels.pagerduty"
    label = "channels_pagerduty"
    verbose_name = "PagerDuty channel"

    def ready(self) -> None:
        from oncall.channel_registry import channel_register
        from paging.channels.pagerduty.kinds import PAGERDUTY

        channel_register(PAGERDUTY)
