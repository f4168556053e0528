from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    """What the channels share: the incident-change forwarder (Slack post updates,
    PagerDuty acks and resolves), escalation targets that are not people, and the models
    of Slack and PagerDuty.

    The label stays ``bridges`` (the app was ``bridges/`` before): table names
    (``bridges_slackpost``…) and migration history are unchanged."""

    name = "paging.channels"
    label = "bridges"
    verbose_name = "Bridges"

    def ready(self) -> None:
        from paging.channels.incident_changes import incident_changes_forward
        from paging.engine import register_tick_step

        # After the dispatcher: the engine runs dispatch once more when a later step
        # wrote rows, so updates and forwards written here still leave in this tick.
        register_tick_step("incident_changes", incident_changes_forward, order=30)
