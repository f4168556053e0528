from django.apps import AppConfig


class TwilioConfig(AppConfig):
    """Phone calls and SMS through Twilio: pages out; replies, keypresses and status
    callbacks in.

    The label stays ``delivery`` (the app was ``delivery/`` before): table names
    (``delivery_smsreplycode``…) and migration history are unchanged."""

    name = "paging.channels.twilio"
    label = "delivery"
    verbose_name = "Delivery"

    def ready(self) -> None:
        from oncall.channel_registry import channel_register
        from paging.channels.twilio.kinds import SMS, VOICE

        # Each transport factory returns None until Twilio is configured: the console
        # channel then stands in (embedded default).
        channel_register(VOICE)
        channel_register(SMS)
