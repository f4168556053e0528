from django.apps import AppConfig


class BridgesConfig(AppConfig):
    """Two-way bridges to Slack and PagerDuty: pages out, acknowledgements in."""

    name = "bridges"

    def ready(self) -> None:
        from bridges.events import incident_changes_step, slack_rate_holds_step
        from bridges.pagerduty.forwarding import KIND as PAGERDUTY_KIND
        from bridges.pagerduty.forwarding import pagerduty_transport_factory
        from bridges.slack.transport import KINDS as SLACK_KINDS
        from bridges.slack.transport import slack_transport_factory
        from paging.channels.registry import register_transport
        from paging.engine import register_tick_step

        for kind in SLACK_KINDS:
            register_transport(kind, slack_transport_factory)
        register_transport(PAGERDUTY_KIND, pagerduty_transport_factory)
        # Both run before the dispatcher in each tick: updates and forwards written
        # here leave in the same tick, and held Slack messages are moved first.
        register_tick_step(incident_changes_step)
        register_tick_step(slack_rate_holds_step)
