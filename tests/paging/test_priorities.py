"""Priorities: levels and parsing, ``incident_set_priority``, and priority -> policy (at
ingest and when a person changes the priority of an unacknowledged incident)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from oncall.audit.models import AuditEntry
from paging.engine import tick
from paging.incident_actions import (
    incident_acknowledge,
    incident_reassign,
    incident_resolve,
    incident_set_priority,
)
from paging.models import Incident, PriorityLevel, ServicePriorityPolicy
from paging.priorities import DEFAULT_LEVELS, PriorityInvalid, priority_levels, priority_parse
from paging.priority_policy import policy_for
from tests.paging.factories import (
    MaintenanceWindowFactory,
    ServiceFactory,
    policy_with_steps,
)
from tests.support import RecordingChannel, engineer_with_ladder, fire

pytestmark = pytest.mark.django_db


def sev_levels() -> None:
    """A team that grades SEV1..SEV4 (no fifth level)."""
    for level, (ack, resolve) in enumerate([(5, 60), (15, 240), (60, None), (None, None)], 1):
        PriorityLevel.objects.create(
            level=level, name=f"SEV{level}", ack_within_minutes=ack, resolve_within_minutes=resolve
        )


# --- levels and what people type ------------------------------------------------------


def test_defaults_apply_until_a_level_is_configured() -> None:
    assert priority_levels() == list(DEFAULT_LEVELS)
    targets = [(lv.code, lv.ack_within_minutes, lv.resolve_within_minutes) for lv in DEFAULT_LEVELS]
    assert targets == [
        ("P1", 5, 60),
        ("P2", 15, 240),
        ("P3", 60, 1440),
        ("P4", 240, 4320),
        ("P5", 1440, 10080),
    ]
    assert priority_parse("p5") == 5
    sev_levels()
    assert [lv.label for lv in priority_levels()] == [
        "P1 (SEV1)",
        "P2 (SEV2)",
        "P3 (SEV3)",
        "P4 (SEV4)",
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("P1", 1), ("p2", 2), (" 3 ", 3), (4, 4), ("sev4", 4), ("SEV2", 2), ("", None), (None, None)],
)
def test_priority_parse_reads_codes_numbers_and_names(value, expected) -> None:
    sev_levels()
    assert priority_parse(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("P5", "P5 is not a priority in use here (use P1 (SEV1), P2 (SEV2), P3 (SEV3), P4 (SEV4))"),
        (9, "9 is not a priority"),
        ("P0", "'P0' is not a priority"),
        ("urgent", "'urgent' is not a priority"),
        (True, "must be a string or a whole number"),
        (1.5, "must be a string or a whole number"),
    ],
)
def test_priority_parse_refuses_what_is_not_in_use(value, reason) -> None:
    sev_levels()
    with pytest.raises(PriorityInvalid) as exc:
        priority_parse(value)
    assert str(exc.value).startswith(reason)


def test_a_level_name_may_not_read_as_another_level() -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        PriorityLevel(level=1, name="P2").full_clean()
    assert exc.value.message_dict["name"] == ["'P2' reads as P2: give P1 another name (e.g. SEV1)"]
    PriorityLevel(level=1, name="p1").full_clean()  # its own code is fine


# --- the one write path ----------------------------------------------------------------


def test_set_priority_writes_the_timeline_and_the_audit_trail(clock) -> None:
    sev_levels()
    alice = engineer_with_ladder("Alice", "+14155550001")
    incident = fire(ServiceFactory(escalation_policy=policy_with_steps([alice])))
    result = incident_set_priority(incident_id=incident.pk, priority=2, engineer_id=alice.pk)
    assert (result.changed, result.moved_to, result.incident.priority) == (True, None, 2)
    line = incident.events.get(kind="priority")
    assert (line.text, line.actor, line.via) == ("priority none -> P2 (SEV2)", alice, "api")
    entry = AuditEntry.objects.get(action="priority")
    assert entry.changes == {"priority": [None, 2]}
    assert entry.note == "priority none -> P2 (SEV2)"
    # The same again changes nothing and writes nothing.
    again = incident_set_priority(incident_id=incident.pk, priority=2, engineer_id=alice.pk)
    assert not again.changed
    assert incident.events.filter(kind="priority").count() == 1
    # Cleared.
    incident_set_priority(incident_id=incident.pk, priority=None)
    assert Incident.objects.get(pk=incident.pk).priority is None


def test_set_priority_refuses_a_level_not_in_use(clock) -> None:
    sev_levels()
    incident = fire(ServiceFactory())
    with pytest.raises(PriorityInvalid):
        incident_set_priority(incident_id=incident.pk, priority=5)
    assert Incident.objects.get(pk=incident.pk).priority is None


def test_a_resolved_incident_can_be_graded_after_the_fact(clock) -> None:
    incident = fire(ServiceFactory())
    incident_resolve(incident_id=incident.pk)
    result = incident_set_priority(incident_id=incident.pk, priority=3)
    assert result.changed and result.moved_to is None
    assert Incident.objects.get(pk=incident.pk).status == "resolved"


# --- priority -> policy -----------------------------------------------------------------


@pytest.fixture
def urgent(db):
    """Service "db": Alice (step 1, 15 min), Bob (step 2). Its P1 policy pages Carol at
    once, then Dave after 5 minutes."""
    alice = engineer_with_ladder("Alice", "+14155550001")
    bob = engineer_with_ladder("Bob", "+14155550002")
    carol = engineer_with_ladder("Carol", "+14155550003")
    dave = engineer_with_ladder("Dave", "+14155550004")
    service = ServiceFactory(name="db", escalation_policy=policy_with_steps([alice], [bob]))
    fast = policy_with_steps([carol], [dave], delay_minutes=5)
    ServicePriorityPolicy.objects.create(service=service, priority=1, escalation_policy=fast)
    return service, fast


def test_policy_for_uses_the_priority_policy_else_the_service_policy(urgent) -> None:
    service, fast = urgent
    assert policy_for(service=service, priority=1) == fast.pk
    assert policy_for(service=service, priority=2) == service.escalation_policy_id
    assert policy_for(service=service, priority=None) == service.escalation_policy_id


def test_an_alert_with_a_priority_opens_an_incident_on_that_priority_policy(
    clock, channel: RecordingChannel, urgent
) -> None:
    service, fast = urgent
    incident = fire(service, priority=1)
    assert (incident.priority, incident.escalation_policy_id) == (1, fast.pk)
    assert incident.events.get(kind="triggered").text == "high urgency, critical, P1"
    tick()
    clock.shift(timedelta(minutes=5))
    tick()
    # Carol at once, Dave 5 minutes later (and Carol's +5 call): the 5-minute policy.
    assert [s.destination for s in channel.sent if s.kind == "sms"] == [
        "+14155550003",
        "+14155550004",
    ]
    ungraded = fire(service, key="k2")
    assert ungraded.priority is None
    assert ungraded.escalation_policy_id == service.escalation_policy_id


def test_raising_a_triggered_incident_to_p1_moves_it_and_pages_from_step_1_now(
    clock, channel: RecordingChannel, urgent
) -> None:
    service, fast = urgent
    incident = fire(service)
    tick()  # Alice's SMS; her call is due in 5 minutes
    clock.shift(timedelta(minutes=2))
    result = incident_set_priority(incident_id=incident.pk, priority=1)
    assert result.moved_to == fast
    tick()
    clock.shift(timedelta(minutes=5))
    tick()
    # Alice's pending call was cancelled; the fast policy paged Carol now, Dave at +5.
    assert [(s.destination, s.kind) for s in channel.sent] == [
        ("+14155550001", "sms"),
        ("+14155550003", "sms"),
        ("+14155550003", "voice"),
        ("+14155550004", "sms"),
    ]
    incident.refresh_from_db()
    assert (incident.escalation_policy_id, incident.priority) == (fast.pk, 1)
    assert incident.events.get(kind="priority").text == (
        f"priority none -> P1; escalation policy '{service.escalation_policy.name}' -> "
        f"'{fast.name}', from step 1 now"
    )
    # Back to P2: still triggered, on the policy P1 chose, so back to the service's.
    back = incident_set_priority(incident_id=incident.pk, priority=2)
    assert back.moved_to == service.escalation_policy


def test_lowering_the_priority_moves_it_without_paging_sooner(
    clock, channel: RecordingChannel, urgent
) -> None:
    service, fast = urgent
    incident = fire(service, priority=1)
    tick()  # Carol's SMS; the fast policy's step 2 is due at +5
    clock.shift(timedelta(minutes=1))
    result = incident_set_priority(incident_id=incident.pk, priority=3)
    assert result.moved_to == service.escalation_policy
    tick()
    assert [s.destination for s in channel.sent] == ["+14155550003"]  # nobody paged now
    clock.shift(timedelta(minutes=4))
    tick()
    # At +5, when the fast policy's step 2 was due: the service policy's step 1 (Alice);
    # Carol's +5 call was cancelled with the move.
    assert [(s.destination, s.kind) for s in channel.sent] == [
        ("+14155550003", "sms"),
        ("+14155550001", "sms"),
    ]
    assert incident.events.get(kind="priority").text.endswith(
        "from step 1 when its next step was due"
    )


def test_an_acknowledged_incident_keeps_its_policy(clock, channel, urgent) -> None:
    service, _ = urgent
    incident = fire(service)
    tick()
    incident_acknowledge(incident_id=incident.pk)
    result = incident_set_priority(incident_id=incident.pk, priority=1)
    assert result.changed and result.moved_to is None
    incident.refresh_from_db()
    assert (incident.priority, incident.escalation_policy_id) == (1, service.escalation_policy_id)


def test_an_incident_reassigned_by_hand_keeps_that_policy(clock, channel, urgent) -> None:
    service, _ = urgent
    elsewhere = policy_with_steps([engineer_with_ladder("Eve", "+14155550005")])
    incident = fire(service)
    incident_reassign(incident_id=incident.pk, policy_id=elsewhere.pk)
    result = incident_set_priority(incident_id=incident.pk, priority=1)
    assert result.moved_to is None
    assert Incident.objects.get(pk=incident.pk).escalation_policy_id == elsewhere.pk


def test_an_incident_held_by_maintenance_moves_without_paging(
    clock, channel: RecordingChannel, urgent
) -> None:
    service, fast = urgent
    window = MaintenanceWindowFactory(service=service)
    incident = fire(service)
    result = incident_set_priority(incident_id=incident.pk, priority=1)
    assert result.moved_to == fast
    tick()
    assert channel.sent == []
    incident.refresh_from_db()
    assert (incident.escalation_policy_id, incident.next_due_at) == (fast.pk, window.ends_at)
    clock.shift(timedelta(hours=1, minutes=1))
    tick()
    assert [s.destination for s in channel.sent] == ["+14155550003"]  # Carol, the P1 policy
