from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Outgoing webhooks: incident events posted, signed, to configured URLs."""

    name = "paging.channels.webhooks"
    label = "channels_webhooks"
    verbose_name = "Outgoing webhooks"

    def ready(self) -> None:
        from oncall.channel_registry import channel_register
        from paging.channels.webhooks.events import webhooks_forward
        from paging.channels.webhooks.kinds import WEBHOOK
        from paging.engine import register_tick_step

        channel_register(WEBHOOK)
        # After dispatch (20) and incident_changes (30): the engine dispatches again
        # when this step wrote rows, so an event leaves in the tick that saw it.
        register_tick_step("webhooks", webhooks_forward, order=35)
