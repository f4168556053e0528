"""Incident actions: escalate now, reassign, note; resolve idempotency."""

from __future__ import annotations

from datetime import timedelta

import pytest

from paging.engine import tick
from paging.incident_actions import (
    IncidentActionError,
    incident_acknowledge,
    incident_add_note,
    incident_escalate_now,
    incident_reassign,
    incident_resolve,
)
from paging.models import Alert, Incident, Message
from tests.paging.factories import ServiceFactory, policy_with_steps
from tests.support import RecordingChannel, engineer_with_ladder, fire

pytestmark = pytest.mark.django_db


def test_escalate_now_runs_the_next_step_at_once(clock, channel: RecordingChannel) -> None:
    alice = engineer_with_ladder("Alice", "+14155550001")
    bob = engineer_with_ladder("Bob", "+14155550002")
    incident = fire(ServiceFactory(escalation_policy=policy_with_steps([alice], [bob])))
    tick()
    incident_acknowledge(incident_id=incident.pk, engineer_id=alice.pk)
    clock.shift(timedelta(minutes=1))
    result = incident_escalate_now(incident_id=incident.pk, engineer_id=alice.pk)
    assert result.changed
    tick()
    assert [s.destination for s in channel.sent] == ["+14155550001", "+14155550002"]
    incident.refresh_from_db()
    assert incident.status == "triggered"
    assert incident.events.filter(kind="escalated").get().text.endswith("(was acknowledged)")


def test_escalate_now_after_exhaustion_starts_a_new_pass(clock, channel) -> None:
    alice = engineer_with_ladder("Alice", "+14155550001")
    incident = fire(ServiceFactory(escalation_policy=policy_with_steps([alice], delay_minutes=5)))
    tick()
    clock.shift(timedelta(minutes=5))
    tick()  # exhausted
    incident_escalate_now(incident_id=incident.pk)
    tick()
    assert [s.kind for s in channel.sent if s.kind == "sms"] == ["sms", "sms"]


def test_reassign_to_engineer_pages_them_and_cancels_others(clock, channel) -> None:
    alice = engineer_with_ladder("Alice", "+14155550001")
    carol = engineer_with_ladder("Carol", "+14155550003")
    incident = fire(ServiceFactory(escalation_policy=policy_with_steps([alice])))
    tick()
    incident_reassign(incident_id=incident.pk, engineer_ids=[carol.pk], by_engineer_id=alice.pk)
    clock.shift(timedelta(minutes=5))
    tick()
    # Alice's +5 call was cancelled; Carol got her sms at once and her call at +5.
    assert [(s.destination, s.kind) for s in channel.sent] == [
        ("+14155550001", "sms"),
        ("+14155550003", "sms"),
        ("+14155550003", "voice"),
    ]
    incident.refresh_from_db()
    assert list(incident.assigned_to.all()) == [carol]
    assert incident.events.get(kind="reassigned").text == "reassigned to Carol"


def test_reassign_to_policy_restarts_there(clock, channel) -> None:
    alice = engineer_with_ladder("Alice", "+14155550001")
    dave = engineer_with_ladder("Dave", "+14155550004")
    incident = fire(ServiceFactory(escalation_policy=policy_with_steps([alice])))
    tick()
    incident_acknowledge(incident_id=incident.pk, engineer_id=alice.pk)
    other = policy_with_steps([dave])
    incident_reassign(incident_id=incident.pk, policy_id=other.pk)
    tick()
    assert channel.sent[-1].destination == "+14155550004"
    incident.refresh_from_db()
    assert (incident.status, incident.escalation_policy_id) == ("triggered", other.pk)


def test_reassign_rejects_bad_input_and_resolved(clock, channel) -> None:
    incident = fire(ServiceFactory())
    with pytest.raises(IncidentActionError):
        incident_reassign(incident_id=incident.pk)
    incident_resolve(incident_id=incident.pk)
    with pytest.raises(IncidentActionError):
        incident_reassign(incident_id=incident.pk, engineer_ids=[1])


def test_resolve_is_idempotent_and_resolves_alerts(clock, channel) -> None:
    incident = fire(ServiceFactory())
    assert incident_resolve(incident_id=incident.pk).changed
    assert not incident_resolve(incident_id=incident.pk).changed
    assert Alert.objects.get().status == "resolved"
    assert incident.events.filter(kind="resolved").count() == 1
    # Ack after resolve: nothing.
    assert not incident_acknowledge(incident_id=incident.pk).changed
    assert Incident.objects.get().status == "resolved"


def test_note_lands_on_the_timeline(clock, channel) -> None:
    alice = engineer_with_ladder("Alice", "+14155550001")
    incident = fire(ServiceFactory())
    incident_add_note(incident_id=incident.pk, engineer_id=alice.pk, text="looking into it")
    note = incident.events.get(kind="note")
    assert (note.text, note.actor_id) == ("looking into it", alice.pk)
    assert not Message.objects.exists()


def test_migration_0009_backfills_who_acked_first_from_the_timeline(db) -> None:
    """Incidents acknowledged before ``first_acknowledged_by`` existed: the first
    acknowledged event's actor, not the latest acker."""
    import importlib

    from django.apps import apps

    from paging.models import IncidentEvent
    from tests.factories import EngineerFactory
    from tests.paging.factories import IncidentFactory
    from tests.support import T0

    migration = importlib.import_module("paging.migrations.0009_incident_first_acknowledged_by")
    alice, bob = EngineerFactory(), EngineerFactory()
    reacked = IncidentFactory(
        status="acknowledged", acknowledged_at=T0 + timedelta(minutes=30), acknowledged_by=bob
    )
    Incident.objects.filter(pk=reacked.pk).update(
        first_acknowledged_at=T0 + timedelta(minutes=2), first_acknowledged_by=None
    )
    for minutes, who in ((30, bob), (2, alice)):
        IncidentEvent.objects.create(
            incident=reacked, kind="acknowledged", at=T0 + timedelta(minutes=minutes), actor=who
        )
    never = IncidentFactory()
    migration.backfill(apps, None)
    assert Incident.objects.get(pk=reacked.pk).first_acknowledged_by_id == alice.pk
    assert Incident.objects.get(pk=never.pk).first_acknowledged_by_id is None
