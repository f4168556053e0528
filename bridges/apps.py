from django.apps import AppConfig


class BridgesConfig(AppConfig):
    """Two-way bridges to Slack and PagerDuty: pages out, acknowledgements in."""

    name = "bridges"

    def ready(self) -> None:
        from bridges.events import incident_changes_forward, slack_rate_holds_apply
        from bridges.pagerduty.forwarding import KIND as PAGERDUTY_KIND
        from bridges.pagerduty.forwarding import pagerduty_transport_factory
        from bridges.slack.transport import KINDS as SLACK_KINDS
        from bridges.slack.transport import slack_transport_factory
        from paging.channels.registry import register_transport
        from paging.engine import register_tick_step

        for kind in SLACK_KINDS:
            register_transport(kind, slack_transport_factory)
        register_transport(PAGERDUTY_KIND, pagerduty_transport_factory)
        # After the dispatcher: the engine runs dispatch once more when a later step
        # wrote rows, so updates and forwards written here still leave in this tick.
        # The Slack transport itself refuses a held destination, so the holds step
        # only spares those messages an attempt.
        register_tick_step("incident_changes", incident_changes_forward, order=30)
        register_tick_step("slack_rate_holds", slack_rate_holds_apply, order=40)
