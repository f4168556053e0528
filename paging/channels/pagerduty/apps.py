from django.apps import AppConfig


class PagerDutyConfig(AppConfig):
    """PagerDuty: forwarding to PagerDuty services (Events API v2) and webhooks v3 in. Its
    models belong to the app labelled ``bridges`` (``paging.channels``)."""

    name = "paging.channels.pagerduty"
    label = "channels_pagerduty"
    verbose_name = "PagerDuty channel"

    def ready(self) -> None:
        from paging.channels.pagerduty.forwarding import KIND, pagerduty_transport_factory
        from paging.channels.registry import register_transport

        register_transport(KIND, pagerduty_transport_factory)
