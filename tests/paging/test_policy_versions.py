"""Issue 9 (e): an incident keeps the escalation policy version it started with.

Edits go through ``policy_save`` (API, admin, config file) and write a new version;
the engine runs each incident from its own version, so an edit mid-incident changes
nothing for it until ``policy_version_apply_to_open`` moves it.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from paging.engine import tick
from paging.escalation import escalations_advance
from paging.incident_actions import incident_escalate_now
from paging.models import (
    EscalationPolicy,
    EscalationPolicyVersion,
    EscalationStep,
    EscalationTarget,
    Incident,
    Message,
)
from paging.policy_versions import (
    _current_read,
    policy_snapshot,
    policy_version_apply_to_open,
    policy_version_current,
)
from paging.policy_writes import StepSpec, TargetSpec, policy_save
from tests.factories import (
    EngineerFactory,
    MembershipFactory,
    TeamFactory,
)
from tests.paging.factories import ServiceFactory
from tests.paging.test_config_section import DOC, apply
from tests.support import SMS_AT_ONCE, T0, RecordingChannel, engineer_with, fire

pytestmark = pytest.mark.django_db

MIN = timedelta(minutes=1)


def responder(name: str, phone: str):
    """One SMS at once: each step of the policy is one SMS per engineer."""
    return engineer_with(name, phone, SMS_AT_ONCE)


def body_steps(*steps: tuple[list, int]) -> list[dict]:
    return [
        {
            "delay_minutes": delay,
            "targets": [{"kind": "engineer", "engineer": e.pk} for e in engineers],
        }
        for engineers, delay in steps
    ]


def paged(incident: Incident) -> list[str]:
    """Who the incident paged, in order (the outbox rows, whatever sent them)."""
    return list(
        Message.objects.filter(incident=incident, purpose=Message.Purpose.PAGE)
        .order_by("id")
        .values_list("engineer__display_name", flat=True)
    )


def texts(incident: Incident, kind: str) -> list[str]:
    events = incident.events.filter(kind=kind).order_by("at", "id")
    return list(events.values_list("text", flat=True))


def test_policy_edit_mid_incident_keeps_the_incident_on_its_version(
    clock, channel: RecordingChannel, staff: APIClient
) -> None:
    alice = responder("Alice", "+14155550001")
    bob = responder("Bob", "+14155550002")
    carol = responder("Carol", "+14155550003")
    created = staff.post(
        "/api/v1/escalation-policies/",
        {"name": "Primary", "steps": body_steps(([alice], 10), ([bob], 10), ([carol], 10))},
        format="json",
    )
    assert created.status_code == 201 and created.json()["version"] == 1
    policy = EscalationPolicy.objects.get(name="Primary")
    service = ServiceFactory(escalation_policy=policy)

    first = fire(service, key="first")
    tick()
    assert paged(first) == ["Alice"]  # v1 step 1

    # The edit: Bob removed, the steps reordered, the delay 10 -> 30.
    edited = staff.patch(
        f"/api/v1/escalation-policies/{policy.pk}/",
        {"steps": body_steps(([carol], 30), ([alice], 30))},
        format="json",
    )
    assert edited.status_code == 200 and edited.json()["version"] == 2
    assert EscalationPolicyVersion.objects.filter(policy=policy).count() == 2

    # The incident in flight runs v1's step 2 (Bob, 10 minutes after step 1) and waits
    # v1's delay for its step 3.
    clock.shift(10 * MIN)
    tick()
    assert paged(first) == ["Alice", "Bob"]
    first.refresh_from_db()
    assert (first.escalation_version.number, first.escalation_step) == (1, 2)
    assert first.next_due_at == T0 + 20 * MIN
    assert texts(first, "policy_version") == ["following escalation policy 'Primary' v1"]
    steps = first.events.filter(kind="escalation_step").order_by("id")
    assert [e.data["policy_version"] for e in steps] == [1, 1]

    # A new incident takes v2: Carol first, the next step in 30 minutes.
    second = fire(service, key="second")
    tick()
    assert paged(second) == ["Carol"]
    second.refresh_from_db()
    assert second.escalation_version.number == 2
    assert second.next_due_at == T0 + 40 * MIN
    assert texts(second, "policy_version") == ["following escalation policy 'Primary' v2"]

    # An admin moves the open incidents: the first one's next step index (2, Carol in
    # v1) is clamped to v2's last step (index 1, Alice); the second is already on v2.
    moved = staff.post(f"/api/v1/escalation-policies/{policy.pk}/apply-to-open/")
    assert moved.status_code == 200 and moved.json() == {"version": 2, "moved": 1}
    first.refresh_from_db()
    assert (first.escalation_version.number, first.escalation_step) == (2, 1)
    assert first.next_due_at == T0 + 20 * MIN  # the due time it had
    assert texts(first, "policy_version")[-1] == (
        "moved to escalation policy 'Primary' v2 (was v1); next: step 2"
    )

    clock.shift(10 * MIN)  # T0 + 20: the first incident's next step is due
    tick()
    assert paged(first) == ["Alice", "Bob", "Alice"]  # v2 step 2, not v1's Carol
    first.refresh_from_db()
    assert first.next_due_at == T0 + 50 * MIN  # v2's delay
    assert paged(second) == ["Carol"]
    assert [s.destination for s in channel.sent] == [
        "+14155550001",
        "+14155550002",
        "+14155550003",
        "+14155550001",
    ]


def test_without_apply_the_incident_finishes_its_version(clock, channel: RecordingChannel) -> None:
    alice, bob = responder("Alice", "+14155550001"), responder("Bob", "+14155550002")
    step = StepSpec(delay_minutes=10, targets=[TargetSpec(kind="engineer", engineer_id=alice.pk)])
    policy = policy_save(policy=None, fields={"name": "Primary", "repeat": 1}, steps=[step])
    incident = fire(ServiceFactory(escalation_policy=policy))
    tick()
    bob_step = StepSpec(delay_minutes=5, targets=[TargetSpec(kind="engineer", engineer_id=bob.pk)])
    policy_save(policy=policy, fields={"repeat": 0}, steps=[bob_step, bob_step])
    for _ in range(4):
        clock.shift(10 * MIN)
        tick()
    # v1: one step, repeated once, then exhausted; v2 (Bob, no repeat) never ran here.
    assert paged(incident) == ["Alice", "Alice"]
    assert texts(incident, "escalation_exhausted")
    incident.refresh_from_db()
    assert incident.escalation_version.number == 1


def test_escalate_now_counts_the_steps_of_the_incidents_version(clock, channel) -> None:
    alice, bob = responder("Alice", "+14155550001"), responder("Bob", "+14155550002")
    one = [StepSpec(delay_minutes=10, targets=[TargetSpec(kind="engineer", engineer_id=alice.pk)])]
    policy = policy_save(policy=None, fields={"name": "Primary"}, steps=one)
    incident = fire(ServiceFactory(escalation_policy=policy))
    tick()
    two = [*one, StepSpec(delay_minutes=10, targets=[TargetSpec("engineer", bob.pk)])]
    policy_save(policy=policy, fields={}, steps=two)
    # v1 has one step, and it ran: escalating starts a new pass of v1, not v2's step 2.
    incident_escalate_now(incident_id=incident.pk)
    tick()
    assert paged(incident) == ["Alice", "Alice"]


def test_a_save_without_a_change_writes_no_version_and_keeps_the_rows() -> None:
    alice = EngineerFactory()
    team = TeamFactory()
    MembershipFactory(team=team, engineer=alice)
    specs = [
        StepSpec(delay_minutes=5, targets=[TargetSpec(kind="engineer", engineer_id=alice.pk)]),
        StepSpec(delay_minutes=5, targets=[TargetSpec(kind="team_round_robin", team_id=team.pk)]),
    ]
    policy = policy_save(policy=None, fields={"name": "p"}, steps=specs)
    rows = list(EscalationTarget.objects.order_by("id").values_list("id", flat=True))
    EscalationTarget.objects.filter(kind="team_round_robin").update(rr_cursor=7)
    policy_save(policy=policy, fields={"description": "renamed"}, steps=specs)
    assert policy.versions.count() == 1
    # Only the first step's delay changes: every row stays, the cursor too.
    changed = [StepSpec(delay_minutes=9, targets=specs[0].targets), specs[1]]
    policy_save(policy=policy, fields={}, steps=changed)
    assert list(EscalationTarget.objects.order_by("id").values_list("id", flat=True)) == rows
    assert EscalationTarget.objects.get(kind="team_round_robin").rr_cursor == 7
    assert policy.versions.count() == 2
    # The round-robin moves to step 1: a new row that keeps the team's place.
    policy_save(policy=policy, fields={}, steps=[specs[1]])
    assert EscalationStep.objects.filter(policy=policy).count() == 1
    assert EscalationTarget.objects.get().rr_cursor == 7
    assert policy.versions.count() == 3


def test_rows_changed_outside_policy_save_become_a_version_before_they_run(clock, channel) -> None:
    alice, bob = responder("Alice", "+14155550001"), responder("Bob", "+14155550002")
    one = [StepSpec(delay_minutes=10, targets=[TargetSpec(kind="engineer", engineer_id=alice.pk)])]
    policy = policy_save(policy=None, fields={"name": "Primary"}, steps=one)
    EscalationTarget.objects.filter(step__policy=policy).update(engineer=bob)  # a shell edit
    incident = fire(ServiceFactory(escalation_policy=policy))
    tick()
    assert paged(incident) == ["Bob"]
    incident.refresh_from_db()
    assert incident.escalation_version.number == 2


def test_the_engines_one_statement_read_is_the_snapshot_policy_save_compares() -> None:
    """``policy_version_current`` reads the rows in one statement; it must see them as
    ``policy_snapshot`` does (or every tick would write a new version)."""
    alice, bob = EngineerFactory(), EngineerFactory()
    team = TeamFactory()
    policy = policy_save(
        policy=None,
        fields={"name": "p", "repeat": 2},
        steps=[
            StepSpec(
                delay_minutes=5,
                targets=[
                    TargetSpec(kind="team_round_robin", team_id=team.pk),
                    TargetSpec(kind="engineer", engineer_id=bob.pk),
                    TargetSpec(kind="slack_channel", address="C123"),
                ],
            ),
            StepSpec(delay_minutes=7, targets=[TargetSpec(kind="engineer", engineer_id=alice.pk)]),
        ],
    )
    # Rows as a shell would leave them: a step without targets, positions not in id order.
    EscalationStep.objects.filter(policy=policy, position=1).update(position=3)
    EscalationStep.objects.create(policy=policy, position=2, delay_minutes=1)
    current, snapshot = _current_read(policy.pk)
    assert snapshot == policy_snapshot(policy)
    assert [len(step["targets"]) for step in snapshot["steps"]] == [3, 0, 1]
    assert current is not None and current.pk == policy.current_version_id
    assert (current.number, current.repeat, current.policy_id) == (1, 2, policy.pk)
    assert current.steps == EscalationPolicyVersion.objects.get(pk=current.pk).steps
    version = policy_version_current(policy_id=policy.pk)
    assert (version.number, len(version.steps)) == (2, 3)
    EscalationTarget.objects.filter(step__policy=policy).delete()
    EscalationPolicy.objects.filter(pk=policy.pk).update(current_version=None)
    assert _current_read(policy.pk) == (None, policy_snapshot(policy))
    with pytest.raises(EscalationPolicy.DoesNotExist):
        _current_read(policy.pk + 1000)


def test_config_file_edit_goes_through_policy_save(tmp_path: Path, clock, channel) -> None:
    apply(tmp_path, DOC)
    policy = EscalationPolicy.objects.get()
    assert policy.current_version.number == 1
    incident = fire(ServiceFactory(escalation_policy=policy))
    tick()
    doc = yaml.safe_load(yaml.safe_dump(DOC))
    doc["escalation_policies"][0]["steps"].reverse()
    assert "~ escalation_policies[platform-primary]" in apply(tmp_path, doc)
    policy.refresh_from_db()
    assert policy.current_version.number == 2
    incident.refresh_from_db()
    assert incident.escalation_version.number == 1
    assert "No changes." in apply(tmp_path, doc)
    assert policy.versions.count() == 2


def test_admin_step_edit_writes_a_version_and_the_action_applies_it(
    admin_client_: Client, clock, channel
) -> None:
    alice, bob = responder("Alice", "+14155550001"), responder("Bob", "+14155550002")
    steps = [
        StepSpec(delay_minutes=10, targets=[TargetSpec(kind="engineer", engineer_id=alice.pk)]),
        StepSpec(delay_minutes=10, targets=[TargetSpec(kind="engineer", engineer_id=alice.pk)]),
    ]
    policy = policy_save(policy=None, fields={"name": "Primary"}, steps=steps)
    incident = fire(ServiceFactory(escalation_policy=policy))
    tick()
    step = policy.steps.get(position=1)
    target = step.targets.get()
    # On the step's admin page: Alice -> Bob, delay 10 -> 3.
    response = admin_client_.post(
        f"/admin/paging/escalationstep/{step.pk}/change/",
        {
            "delay_minutes": "3",
            "targets-TOTAL_FORMS": "2",
            "targets-INITIAL_FORMS": "1",
            "targets-MIN_NUM_FORMS": "0",
            "targets-MAX_NUM_FORMS": "1000",
            "targets-0-id": str(target.pk),
            "targets-0-step": str(step.pk),
            "targets-0-kind": "engineer",
            "targets-0-engineer": str(bob.pk),
            "targets-1-step": str(step.pk),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    policy.refresh_from_db()
    assert policy.current_version.number == 2
    assert policy.current_version.steps[1]["delay_minutes"] == 3
    clock.shift(10 * MIN)
    tick()
    assert paged(incident) == ["Alice", "Alice"]  # v1's step 2, not the edit

    second = fire(ServiceFactory(escalation_policy=policy), key="second")
    admin_client_.post(
        "/admin/paging/escalationpolicy/",
        {"action": "apply_to_open", "_selected_action": [policy.pk]},
    )
    incident.refresh_from_db()
    assert incident.escalation_version.number == 2
    assert incident.events.filter(kind="policy_version", via="admin").exists()
    tick()
    assert paged(second) == ["Alice"]  # v2 step 1


def test_admin_policy_page_edits_steps_through_policy_save(admin_client_: Client) -> None:
    alice = EngineerFactory()
    target = TargetSpec(kind="engineer", engineer_id=alice.pk)
    policy = policy_save(
        policy=None,
        fields={"name": "Primary"},
        steps=[StepSpec(delay_minutes=10, targets=[target]), StepSpec(delay_minutes=20)],
    )
    first, second = policy.steps.order_by("position")
    response = admin_client_.post(
        f"/admin/paging/escalationpolicy/{policy.pk}/change/",
        {
            "name": "Primary",
            "repeat": "0",
            "steps-TOTAL_FORMS": "2",
            "unresolved_steps-TOTAL_FORMS": "0",
            "unresolved_steps-INITIAL_FORMS": "0",
            "steps-INITIAL_FORMS": "2",
            "steps-MIN_NUM_FORMS": "0",
            "steps-MAX_NUM_FORMS": "1000",
            "steps-0-id": str(first.pk),
            "steps-0-policy": str(policy.pk),
            "steps-0-number": "1",
            "steps-0-delay_minutes": "15",
            "steps-0-targets": [f"engineer:{alice.pk}"],
            "steps-1-id": str(second.pk),
            "steps-1-policy": str(policy.pk),
            "steps-1-number": "2",
            "steps-1-delay_minutes": "20",
            "steps-1-DELETE": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    policy.refresh_from_db()
    assert policy.current_version.number == 2
    assert policy.current_version.steps == [
        {
            "delay_minutes": 15,
            "targets": [
                {
                    "id": first.targets.get().pk,
                    "kind": "engineer",
                    "engineer": alice.pk,
                    "team": None,
                    "schedule": None,
                    "address": "",
                }
            ],
        }
    ]


def test_apply_to_open_is_staff_only(staff: APIClient) -> None:
    policy = policy_save(policy=None, fields={"name": "p"}, steps=[])
    viewer = APIClient()
    viewer.force_authenticate(EngineerFactory().user)
    url = f"/api/v1/escalation-policies/{policy.pk}/apply-to-open/"
    assert viewer.post(url).status_code == 403
    assert staff.post(url).json() == {"version": 1, "moved": 0}


def test_apply_to_open_leaves_resolved_and_unstarted_incidents(clock, channel) -> None:
    alice = responder("Alice", "+14155550001")
    one = [StepSpec(delay_minutes=10, targets=[TargetSpec(kind="engineer", engineer_id=alice.pk)])]
    policy = policy_save(policy=None, fields={"name": "p"}, steps=one)
    service = ServiceFactory(escalation_policy=policy)
    fire(service, key="started")
    tick()
    done = fire(service, key="done")
    tick()
    Incident.objects.filter(pk=done.pk).update(status="resolved", next_due_at=None)
    fire(service, key="unstarted")  # not ticked yet
    policy_save(policy=policy, fields={}, steps=[*one, *one])
    result = policy_version_apply_to_open(policy_id=policy.pk)
    assert result.moved == 1
    versions = dict(Incident.objects.values_list("dedup_key", "escalation_version__number"))
    assert versions == {"started": 2, "done": 1, "unstarted": None}


def _start_incidents(service, count: int, prefix: str) -> None:
    for i in range(count):
        fire(service, key=f"{prefix}{i}")


def test_starting_incidents_costs_no_query_per_incident(clock) -> None:
    """The version is resolved once per policy per tick (1 read when unchanged), and
    written with the incident's other state: the same count for 5 or 30 incidents."""
    alice = responder("Alice", "+14155550001")
    one = [StepSpec(delay_minutes=10, targets=[TargetSpec(kind="engineer", engineer_id=alice.pk)])]
    policy = policy_save(policy=None, fields={"name": "p"}, steps=one)
    service = ServiceFactory(escalation_policy=policy)
    _start_incidents(service, 2, "warm")
    escalations_advance()
    counts = []
    # 30, not more: SQLite's bulk INSERT splits at ~37 outbox rows (999 parameters).
    for n in (5, 30):
        _start_incidents(service, n, f"n{n}-")
        with CaptureQueriesContext(connection) as queries:
            assert escalations_advance() == n
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1]
    assert Incident.objects.filter(escalation_version__number=1).count() == 37


def test_admin_add_policy_with_a_step(admin_client_: Client) -> None:
    response = admin_client_.post(
        "/admin/paging/escalationpolicy/add/",
        {
            "name": "New",
            "repeat": "1",
            "steps-TOTAL_FORMS": "1",
            "unresolved_steps-TOTAL_FORMS": "0",
            "unresolved_steps-INITIAL_FORMS": "0",
            "steps-INITIAL_FORMS": "0",
            "steps-MIN_NUM_FORMS": "0",
            "steps-MAX_NUM_FORMS": "1000",
            "steps-0-number": "1",
            "steps-0-delay_minutes": "7",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    policy = EscalationPolicy.objects.get(name="New")
    assert list(policy.steps.values_list("position", "delay_minutes")) == [(0, 7)]
    version = policy.current_version
    assert (version.number, version.repeat, version.steps) == (
        1,
        1,
        [{"delay_minutes": 7, "targets": []}],
    )


def test_an_engineer_deleted_after_the_version_was_written_is_skipped(clock, channel) -> None:
    alice, bob = responder("Alice", "+14155550001"), responder("Bob", "+14155550002")
    steps = [
        StepSpec(delay_minutes=10, targets=[TargetSpec(kind="engineer", engineer_id=alice.pk)]),
        StepSpec(delay_minutes=10, targets=[TargetSpec(kind="engineer", engineer_id=bob.pk)]),
    ]
    policy = policy_save(policy=None, fields={"name": "p"}, steps=steps)
    incident = fire(ServiceFactory(escalation_policy=policy))
    tick()
    bob.user.delete()  # cascades to the engineer and the policy's target row
    clock.shift(10 * MIN)
    tick()  # v1's step 2 names an engineer who is gone: nobody is paged, nothing breaks
    assert paged(incident) == ["Alice"]
    step_lines = texts(incident, "escalation_step")
    bob_id = policy.current_version.steps[1]["targets"][0]["engineer"]
    assert step_lines[-1] == f"step 2: nobody to page (engineer {bob_id} no longer exists)"
    policy.refresh_from_db()
    assert policy.current_version.number == 1  # the rows change with the next start
    fire(ServiceFactory(escalation_policy=policy), key="later")
    tick()
    policy.refresh_from_db()
    assert policy.current_version.number == 2
