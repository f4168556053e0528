from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    """Provider channels (Twilio, Slack, e-mail, PagerDuty) and every acknowledgement path."""

    name = "delivery"
