"""Back to triggered (issue 14, part 3): the ack timeout, "escalate now" and a
reassignment all go through ``incident_retrigger`` and leave the same state.

Before, the ack timeout cleared ``acknowledged_*`` while "escalate now" and a reassignment
kept them: a triggered incident still named its acknowledger in the API, the incident
page and Slack.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from oncall.audit.models import AuditEntry
from paging.engine import tick
from paging.incident_actions import incident_acknowledge, incident_escalate_now, incident_reassign
from paging.models import Incident
from tests.paging.factories import ServiceFactory, policy_with_steps
from tests.support import T0, RecordingChannel, engineer_with_ladder, fire

pytestmark = pytest.mark.django_db

MIN = timedelta(minutes=1)


def _ack_timeout(incident: Incident, clock, people: dict) -> None:
    clock.shift(20 * MIN)  # the service's ack timeout
    tick()


def _escalate_now(incident: Incident, clock, people: dict) -> None:
    incident_escalate_now(incident_id=incident.pk, engineer_id=people["alice"].pk)


def _reassign_engineers(incident: Incident, clock, people: dict) -> None:
    incident_reassign(
        incident_id=incident.pk,
        engineer_ids=[people["carol"].pk],
        by_engineer_id=people["alice"].pk,
    )


def _reassign_policy(incident: Incident, clock, people: dict) -> None:
    policy = policy_with_steps([people["carol"]])
    incident_reassign(
        incident_id=incident.pk, policy_id=policy.pk, by_engineer_id=people["alice"].pk
    )


PATHS: dict[str, tuple[Callable, str, str | None]] = {
    # path: (how, timeline kind, audit action)
    "ack timeout": (_ack_timeout, "ack_timeout", None),
    "escalate now": (_escalate_now, "escalated", "escalate"),
    "reassign to engineers": (_reassign_engineers, "reassigned", "reassign"),
    "reassign to a policy": (_reassign_policy, "reassigned", "reassign"),
}


@pytest.fixture
def acked(clock, channel: RecordingChannel) -> tuple[Incident, dict]:
    """An incident paged at T0 (Alice, step 1 of 2) and acknowledged by Alice at T0+1."""
    people = {
        "alice": engineer_with_ladder("Alice", "+14155550001"),
        "bob": engineer_with_ladder("Bob", "+14155550002"),
        "carol": engineer_with_ladder("Carol", "+14155550003"),
    }
    service = ServiceFactory(
        escalation_policy=policy_with_steps([people["alice"]], [people["bob"]], delay_minutes=10),
        ack_timeout_minutes=20,
    )
    incident = fire(service)
    tick()
    clock.shift(MIN)
    incident_acknowledge(incident_id=incident.pk, engineer_id=people["alice"].pk, via="sms")
    return incident, people


@pytest.mark.parametrize("path", list(PATHS))
def test_every_path_back_to_triggered_leaves_the_same_state(
    path: str, acked, clock, channel: RecordingChannel
) -> None:
    incident, people = acked
    how, kind, audit_action = PATHS[path]
    how(incident, clock, people)
    incident.refresh_from_db()
    # The acknowledgement no longer holds; the first one is kept for MTTA.
    assert (
        incident.status,
        incident.acknowledged_at,
        incident.acknowledged_by_id,
        incident.acknowledged_via,
        incident.first_acknowledged_at,
        incident.first_acknowledged_by_id,
    ) == ("triggered", None, None, "", T0 + MIN, people["alice"].pk)
    assert incident.escalation_loop == 1  # a new loop: fresh page keys
    assert incident.escalation_started_at == T0
    line = incident.events.get(kind=kind)
    assert line.text.endswith("(was acknowledged)")
    audited = AuditEntry.objects.filter(object_id=str(incident.pk), action=audit_action or "?")
    assert audited.count() == (1 if audit_action else 0)
    if audit_action:
        assert audited.get().changes["acknowledged_by_id"] == [people["alice"].pk, None]


def test_where_each_path_resumes_the_policy(acked, clock, channel: RecordingChannel) -> None:
    incident, people = acked
    # Escalate now: the step it was going to run next (Bob, step 2), at once.
    _escalate_now(incident, clock, people)
    incident.refresh_from_db()
    assert (incident.escalation_step, incident.next_due_at) == (1, T0 + MIN)
    assert incident.events.get(kind="escalated").text == "escalated to step 2 (was acknowledged)"
    tick()
    assert [s.destination for s in channel.sent if s.kind == "sms"] == [
        "+14155550001",
        "+14155550002",
    ]


def test_ack_timeout_starts_the_policy_over(acked, clock, channel: RecordingChannel) -> None:
    incident, people = acked
    _ack_timeout(incident, clock, people)
    incident.refresh_from_db()
    # Step 1 ran again at once (Alice), step 2 is next.
    assert (incident.escalation_step, incident.escalation_repeat) == (1, 0)
    assert incident.next_due_at == T0 + 31 * MIN
    assert incident.events.get(kind="ack_timeout").text == "not resolved in time (was acknowledged)"
    assert [s.destination for s in channel.sent if s.kind == "sms"] == ["+14155550001"] * 2


def test_reassign_to_engineers_keeps_the_policy_where_it_was(
    acked, clock, channel: RecordingChannel
) -> None:
    incident, people = acked
    _reassign_engineers(incident, clock, people)
    incident.refresh_from_db()
    # Carol paged now; the policy resumes at step 2 after the grace period.
    assert (incident.escalation_step, incident.next_due_at) == (1, T0 + 16 * MIN)
    assert incident.events.get(kind="reassigned").text == "reassigned to Carol (was acknowledged)"
    tick()
    assert channel.sent[-1].destination == "+14155550003"


def test_a_triggered_incident_is_retriggered_without_the_note(clock, channel) -> None:
    alice = engineer_with_ladder("Alice", "+14155550001")
    bob = engineer_with_ladder("Bob", "+14155550002")
    incident = fire(ServiceFactory(escalation_policy=policy_with_steps([alice], [bob])))
    tick()
    incident_escalate_now(incident_id=incident.pk)
    assert incident.events.get(kind="escalated").text == "escalated to step 2"
