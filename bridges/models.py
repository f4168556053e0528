"""What the Slack and PagerDuty bridges remember between requests.

- ``SlackPost``: a Slack message we posted about an incident, so it can be updated
  in place (``chat.update`` needs the channel and the message ``ts``).
- ``SlackRateHold``: Slack answered 429 for a destination; nothing more is sent
  there before ``until`` (its Retry-After).
- ``SlackRequestSeen``: signatures of Slack requests already acted on, so a replay
  inside Slack's 5-minute window is refused too.
- ``PagerDutyForward``: an incident triggered on a PagerDuty service (routing key)
  with our dedup key, so our ack/resolve can follow it there.
- ``PagerDutyWebhookDelivery``: one PagerDuty webhook delivery, unique by its
  ``X-Webhook-Id`` and by its signed event id (deliveries are at-least-once, and a
  captured body must not act twice).
- ``EventCursor``: how far the bridges have read the incident timeline.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class SlackPost(models.Model):
    class Kind(models.TextChoices):
        DIRECT = "direct", "Direct message"
        CHANNEL = "channel", "Channel post"

    incident = models.ForeignKey(
        "paging.Incident", on_delete=models.CASCADE, related_name="slack_posts"
    )
    message = models.ForeignKey(
        "paging.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    channel = models.CharField(max_length=64)
    ts = models.CharField(max_length=32)
    posted_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["posted_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "ts"], name="uniq_slack_post"),
        ]

    def __str__(self) -> str:
        return f"incident {self.incident_id} in {self.channel} at {self.ts}"


class SlackRateHold(models.Model):
    destination = models.CharField(max_length=254, unique=True)
    until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.destination} held until {self.until}"


class SlackRequestSeen(models.Model):
    signature = models.CharField(max_length=80, unique=True)
    received_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.signature[:12]}… at {self.received_at}"


class PagerDutyForward(models.Model):
    class Action(models.TextChoices):
        TRIGGER = "trigger", "Triggered"
        ACKNOWLEDGE = "acknowledge", "Acknowledged"
        RESOLVE = "resolve", "Resolved"

    incident = models.ForeignKey(
        "paging.Incident", on_delete=models.CASCADE, related_name="pagerduty_forwards"
    )
    routing_key = models.CharField(max_length=64)
    dedup_key = models.CharField(max_length=255, db_index=True)
    last_action = models.CharField(max_length=16, choices=Action.choices)
    triggered_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["triggered_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "routing_key"], name="uniq_pagerduty_forward"
            ),
        ]

    def __str__(self) -> str:
        return f"incident {self.incident_id} -> …{self.routing_key[-4:]} ({self.last_action})"


class PagerDutyWebhookDelivery(models.Model):
    webhook_id = models.CharField(max_length=128, unique=True)
    # The signed ``event.id``: a replay with a new (unsigned) X-Webhook-Id is still a
    # duplicate. Null only on rows from before it was recorded.
    event_id = models.CharField(max_length=128, unique=True, null=True, blank=True)
    event_type = models.CharField(max_length=64, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    # PagerDuty's incident id (``event.data.id``): once one of its events acted on one
    # of our incidents, its later events act on that incident only.
    pagerduty_incident_id = models.CharField(max_length=64, blank=True, db_index=True)
    incident = models.ForeignKey(
        "paging.Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "PagerDuty webhook deliveries"

    def __str__(self) -> str:
        return f"{self.webhook_id} {self.event_type}: {self.outcome}"


class EventCursor(models.Model):
    name = models.CharField(max_length=32, unique=True)
    last_event_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} at event {self.last_event_id}"
