"""What the Slack channel remembers between requests (tables ``bridges_*``: these models
belong to the app labelled ``bridges``, ``paging.channels``, see its ``models.py``).

- ``SlackPost``: a Slack message we posted about an incident, so it can be updated
  in place (``chat.update`` needs the channel and the message ``ts``).
- ``SlackRateHold``: Slack answered 429 for a destination; nothing more is sent
  there before ``until`` (its Retry-After).
- ``SlackRequestSeen``: signatures of Slack requests already acted on, so a replay
  inside Slack's 5-minute window is refused too.
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
        app_label = "bridges"
        ordering = ["posted_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "ts"], name="uniq_slack_post"),
        ]

    def __str__(self) -> str:
        return f"incident {self.incident_id} in {self.channel} at {self.ts}"


class SlackRateHold(models.Model):
    destination = models.CharField(max_length=254, unique=True)
    until = models.DateTimeField()

    class Meta:
        app_label = "bridges"

    def __str__(self) -> str:
        return f"{self.destination} held until {self.until}"


class SlackRequestSeen(models.Model):
    signature = models.CharField(max_length=80, unique=True)
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        app_label = "bridges"

    def __str__(self) -> str:
        return f"{self.signature[:12]}… at {self.received_at}"
