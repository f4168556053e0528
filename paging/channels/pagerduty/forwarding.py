"""Forwarding our incidents to a PagerDuty service (Events API v2).

Outbox rows of kind ``pagerduty``: the destination is the routing key, the body the
event as JSON without it. A trigger row belongs to the incident (so it is cancelled
if the incident is acknowledged before it leaves); acknowledge/resolve rows do not
(they must leave *because* it was acknowledged).

Our dedup key is ``oncall-<incident id>``: unique per incident, whereas an incident's
own dedup key is unique only among the open incidents of one service, and two of our
services forwarding to one PagerDuty service must not share a PagerDuty alert.
The webhook maps PagerDuty's ``incident_key`` back through ``PagerDutyForward``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.utils import timezone

from paging.channels import TransportError
from paging.channels.pagerduty.events_client import event_send
from paging.channels.pagerduty.models import PagerDutyForward
from paging.models import Incident, Message
from paging.notify import incident_url

logger = logging.getLogger(__name__)

KIND = "pagerduty"
SEVERITIES = ("critical", "error", "warning", "info")
SUMMARY_MAX = 1024


def pagerduty_dedup_key(incident_id: int) -> str:
    return f"oncall-{incident_id}"


def trigger_event(incident: Incident) -> dict[str, Any]:
    """The trigger event for ``incident`` (the routing key is added at send time)."""
    severity = incident.severity if incident.severity in SEVERITIES else "critical"
    links = [{"href": incident_url(incident.pk), "text": f"On-call incident #{incident.pk}"}]
    for link in incident.links or []:
        if isinstance(link, dict) and link.get("href"):
            links.append({"href": str(link["href"]), "text": str(link.get("text", ""))})
    return {
        "event_action": "trigger",
        "dedup_key": pagerduty_dedup_key(incident.pk),
        "payload": {
            "summary": incident.title[:SUMMARY_MAX] or f"Incident #{incident.pk}",
            "source": incident.service.name,
            "severity": severity,
            "timestamp": incident.created_at.isoformat(),
            "component": incident.service.name,
            "custom_details": {
                "incident_id": incident.pk,
                "dedup_key": incident.dedup_key,
                "urgency": incident.urgency,
                **(incident.details if isinstance(incident.details, dict) else {}),
            },
        },
        "links": links[:10],
        "client": "oncall",
        "client_url": incident_url(incident.pk),
    }


def follow_event(*, action: str, dedup_key: str) -> dict[str, Any]:
    return {"event_action": action, "dedup_key": dedup_key}


class PagerDutyTransport:
    """Sends one Events API v2 event per outbox row.

    Not ``Reconcilable`` on purpose: a send whose answer was lost raises with
    ``maybe_sent=True``, and sending it again is safe because PagerDuty deduplicates
    events by ``dedup_key`` (ours is per incident, see ``pagerduty_dedup_key``).
    """

    name = "pagerduty"

    def send(self, message: Message) -> str:
        try:
            event = json.loads(message.body)
        except ValueError:
            raise TransportError("pagerduty: the outbox body is not JSON", permanent=True) from None
        if not isinstance(event, dict):
            raise TransportError("pagerduty: the outbox body is not an event", permanent=True)
        event["routing_key"] = message.destination
        try:
            dedup_key = event_send(event=event)
        except TransportError:
            raise
        except Exception as exc:  # e.g. a garbled HTTP answer: retry, never crash the tick
            logger.exception("pagerduty send failed unexpectedly for message %s", message.pk)
            raise TransportError(f"pagerduty: {exc!r}"[:500], permanent=False) from exc
        action = event.get("event_action", "")
        now = timezone.now()
        if action == "trigger" and message.incident_id is not None:
            PagerDutyForward.objects.update_or_create(
                incident_id=message.incident_id,
                routing_key=message.destination,
                defaults={
                    "dedup_key": event.get("dedup_key") or dedup_key,
                    "last_action": PagerDutyForward.Action.TRIGGER,
                    "triggered_at": now,
                    "updated_at": now,
                },
            )
        elif action in ("acknowledge", "resolve"):
            PagerDutyForward.objects.filter(
                routing_key=message.destination, dedup_key=event.get("dedup_key", "")
            ).update(last_action=action, updated_at=now)
        return dedup_key


def pagerduty_transport_factory() -> PagerDutyTransport | None:
    from django.conf import settings

    if not settings.PAGERDUTY_FORWARDING_ENABLED:
        return None
    return PagerDutyTransport()
