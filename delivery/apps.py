from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    """Phone, SMS and e-mail channels, signed ack links and shift reminders."""

    name = "delivery"

    def ready(self) -> None:
        from delivery.email.transport import email_transport
        from delivery.reminders import shift_reminders_enqueue
        from delivery.twilio.transport import sms_transport, voice_transport
        from paging.channels.registry import register_transport
        from paging.engine import register_tick_step

        # Each factory returns None until its provider is configured: the console
        # channel then stands in (embedded default).
        register_transport("sms", sms_transport)
        register_transport("voice", voice_transport)
        register_transport("email", email_transport)
        register_tick_step("shift_reminders", shift_reminders_enqueue, order=50)
