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
        from paging.channels.registry import register_transport
        from paging.channels.twilio.transport import sms_transport, voice_transport

        # Each factory returns None until its provider is configured: the console
        # channel then stands in (embedded default).
        register_transport("sms", sms_transport)
        register_transport("voice", voice_transport)
