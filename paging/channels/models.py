"""Models of the app labelled ``bridges`` (``paging.channels``; the label, and so the
``bridges_*`` table names and the migration history, predate the move into
``paging/channels/``). Slack's and PagerDuty's models live in their own folders and are
imported here so the app holds all of them; this module keeps the one that both use:

- ``EventCursor``: how far ``incident_changes`` has read the incident timeline.
"""

from __future__ import annotations

from django.db import models

from paging.channels.pagerduty.models import PagerDutyForward, PagerDutyWebhookDelivery
from paging.channels.slack.models import SlackPost, SlackRateHold, SlackRequestSeen

__all__ = [
    "EventCursor",
    "PagerDutyForward",
    "PagerDutyWebhookDelivery",
    "SlackPost",
    "SlackRateHold",
    "SlackRequestSeen",
]


class EventCursor(models.Model):
    name = models.CharField(max_length=32, unique=True)
    last_event_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} at event {self.last_event_id}"
