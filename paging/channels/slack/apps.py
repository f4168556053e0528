from django.apps import AppConfig


class SlackConfig(AppConfig):
    """Slack: DMs and channel posts out; buttons and ``/oncall`` in. Its models belong to
    the app labelled ``bridges`` (``paging.channels``)."""

    name = "paging.channels.slack"
    label = "channels_slack"
    verbose_name = "Slack channel"

    def ready(self) -> None:
        from paging.channels.registry import register_transport
        from paging.channels.slack.rate_holds import slack_rate_holds_apply
        from paging.channels.slack.transport import KINDS, slack_transport_factory
        from paging.engine import register_tick_step

        for kind in KINDS:
            register_transport(kind, slack_transport_factory)
        # The Slack transport itself refuses a held destination, so the holds step
        # only spares those messages an attempt.
        register_tick_step("slack_rate_holds", slack_rate_holds_apply, order=40)
