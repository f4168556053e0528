"""What the PagerDuty channel remembers between requests (tables ``bridges_*``: these
models belong to the app labelled ``bridges``, ``paging.channels``, see its ``models.py``).

- ``PagerDutyForward``: an incident triggered on a PagerDuty service (routing key)
  with our dedup key, so our ack/resolve can follow it there.
- ``PagerDutyWebhookDelivery``: one PagerDuty webhook delivery, unique by its
  ``X-Webhook-Id`` and by its signed event id (deliveries are at-least-once, and a
  captured body must not act twice).
"""

from __future__ import annotations

from django.db import models


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
        app_label = "bridges"
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
        app_label = "bridges"
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "PagerDuty webhook deliveries"

    def __str__(self) -> str:
        return f"{self.webhook_id} {self.event_type}: {self.outcome}"
