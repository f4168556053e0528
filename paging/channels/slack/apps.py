from django.apps import AppConfig


class SlackConfig(AppConfig):
    """Slack: DMs and channel posts out; buttons and ``/oncall`` in. Its models belong to
    the app labelled ``bridges`` (``paging.channels``)."""

    name = "paging.channels.slack"
    label = "channels_slack"
    verbose_name = "Slack channel"

    def ready(self) -> None:
        from oncall.channel_registry import channel_register
        from oncall.people.hooks import register_address_lookup
        from paging.channels.slack.kinds import SPECS
        from paging.channels.slack.members import slack_address_lookup
        from paging.channels.slack.rate_holds import slack_rate_holds_apply
        from paging.engine import register_tick_step

        for spec in SPECS:
            channel_register(spec)
        # A Slack contact method added by e-mail address pages the member id found for it.
        register_address_lookup("slack", slack_address_lookup)
        # The Slack transport itself refuses a held destination, so the holds step
        # only spares those messages an attempt.
        register_tick_step("slack_rate_holds", slack_rate_holds_apply, order=40)
