"""Acks and resolves sent by alert sources are in the audit trail, without their token."""

from __future__ import annotations

import json

from oncall.audit.models import AuditEntry
from paging.models import Incident
from tests.paging.inbound.samples import pagerduty_ack_resolve_samples, pagerduty_trigger_sample
from tests.paging.inbound.test_pagerduty_flow import ROUTING_KEY, enqueue
from tests.paging.inbound.test_webhook_flow import send


def test_events_api_ack_and_resolve_are_the_alert_sources(client, pd_integration) -> None:
    enqueue(client, pagerduty_trigger_sample())
    for body in pagerduty_ack_resolve_samples():
        enqueue(client, body)
    incident = Incident.objects.get()
    entries = AuditEntry.objects.filter(object_type="paging.incident").order_by("seq")
    assert [(e.action, e.object_id, e.actor_kind, e.actor_label) for e in entries] == [
        ("acknowledge", str(incident.pk), "provider", "alert source"),
        ("resolve", str(incident.pk), "provider", "alert source"),
    ]
    everything = json.dumps(list(AuditEntry.objects.values()), default=str)
    assert ROUTING_KEY not in everything


def test_a_resolve_through_a_token_url_does_not_record_the_token(client, webhook_integration):
    send(client, webhook_integration, {"title": "Backlog", "dedup_key": "q/backlog"})
    send(client, webhook_integration, {"status": "resolved", "dedup_key": "q/backlog"})
    (entry,) = AuditEntry.objects.filter(object_type="paging.incident")
    assert (entry.action, entry.actor_label) == ("resolve", "alert source")
    everything = json.dumps(list(AuditEntry.objects.values()), default=str)
    assert webhook_integration.token not in everything
