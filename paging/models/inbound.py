"""State kept by the inbound endpoints: rate-limit buckets, SNS subscriptions and the
message ids seen, change events."""

from __future__ import annotations

from django.db import models


class IntegrationRate(models.Model):
    """One integration's rate-limit bucket (GCRA), shared by every process.

    ``tat`` ("theoretical arrival time", epoch seconds) moves forward by 60/limit seconds
    per accepted request; a request is refused while ``tat`` is more than a minute
    ahead (``paging/inbound/rate_limit.py``). ``limited_total`` counts refusals for
    ``/metrics``.
    """

    integration = models.OneToOneField(
        "paging.Integration", on_delete=models.CASCADE, primary_key=True, related_name="rate"
    )
    tat = models.FloatField(default=0.0)
    limited_total = models.BigIntegerField(default=0)
    last_limited_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"rate of integration {self.integration_id}"


class SnsSubscription(models.Model):
    """An SNS topic's subscription to an integration's URL, as SNS told us about it."""

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"

    integration = models.ForeignKey(
        "paging.Integration", on_delete=models.CASCADE, related_name="sns_subscriptions"
    )
    topic_arn = models.CharField(max_length=300)
    status = models.CharField(max_length=16, choices=Status.choices)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["integration_id", "topic_arn"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "topic_arn"], name="sns_subscription_unique_topic"
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic_arn} ({self.status})"


class SnsMessageSeen(models.Model):
    """An SNS notification's ``MessageId`` that has acted on an integration, written in
    the transaction of the alert it carried and kept for ``SNS_MAX_MESSAGE_AGE_SECONDS``
    (older messages are refused by their ``Timestamp``): the same signed message sent
    again, by SNS's redelivery or by whoever captured it, changes nothing."""

    integration = models.ForeignKey(
        "paging.Integration", on_delete=models.CASCADE, related_name="+"
    )
    message_id = models.CharField(max_length=255)
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "message_id"], name="sns_message_seen_once"
            )
        ]

    def __str__(self) -> str:
        return f"SNS message {self.message_id}"


class ChangeEvent(models.Model):
    """A change (deploy, config change) reported for a service: PagerDuty Change Events.

    Shown on incidents of the service opened within ``CHANGE_EVENTS_WINDOW_MINUTES``
    after it (``paging/change_events.py``).
    """

    service = models.ForeignKey(
        "paging.Service", on_delete=models.CASCADE, related_name="change_events"
    )
    integration = models.ForeignKey(
        "paging.Integration",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="change_events",
    )
    summary = models.CharField(max_length=1024)
    source = models.CharField(max_length=255, blank=True)
    # When the change happened (payload.timestamp), else when it was received.
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    custom_details = models.JSONField(default=dict, blank=True)
    links = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["service", "occurred_at"], name="change_event_service_at"),
        ]

    def __str__(self) -> str:
        return f"{self.service} change: {self.summary[:60]}"
