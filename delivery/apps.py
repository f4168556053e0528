from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    """Phone, SMS and e-mail channels, signed ack links and shift reminders."""

    name = "delivery"
