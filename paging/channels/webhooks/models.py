"""What the outgoing-webhook folder keeps: where incident events are posted, and which
outbox row carries each event to each endpoint."""

from __future__ import annotations

import uuid

from django.db import models

# The events an endpoint can ask for (``WebhookEndpoint.events``; empty: all of them).
EVENTS = ("triggered", "acknowledged", "escalated", "resolved", "status_update")


class WebhookEndpoint(models.Model):
    """A URL that receives incident events, signed with its secret: of one service, or of
    every service (``service`` empty: global)."""

    name = models.CharField(max_length=100, unique=True)
    service = models.ForeignKey(
        "paging.Service",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Empty: every service's incidents.",
    )
    url = models.URLField("URL", max_length=1024)
    # HMAC-SHA256 key of X-Oncall-Signature; shown masked (…last 4) everywhere.
    secret = models.CharField(max_length=255)
    enabled = models.BooleanField(default=True)
    # A subset of EVENTS; empty: every event.
    events = models.JSONField(default=list, blank=True)
    # When it was created or last enabled: events before this are never sent to it (no
    # history is replayed to a new endpoint, nor what happened while it was disabled).
    enabled_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "outgoing webhook"

    def __str__(self) -> str:
        return self.name

    def wants(self, event: str) -> bool:
        return not self.events or event in self.events


class WebhookDelivery(models.Model):
    """One event for one endpoint, carried by one outbox row (``message``).

    ``delivery_id`` is the body's ``id`` and the ``X-Oncall-Delivery`` header: the same on
    every retry, so a receiver that saw it already can ignore a repeat.
    """

    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    incident = models.ForeignKey("paging.Incident", on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=32)
    message = models.OneToOneField("paging.Message", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} of #{self.incident_id} to {self.endpoint_id}"
