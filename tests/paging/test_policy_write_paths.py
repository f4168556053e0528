"""A policy edit takes the same path from the API, the admin and the config file
(``policy_save``, issue 14, part 3): the step and target rows are changed in place,
never deleted and recreated, a new version is written, and an incident in flight keeps
running the version it started with.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from rest_framework.test import APIClient

from paging.engine import tick
from paging.models import EscalationPolicy, EscalationStep, EscalationTarget, Incident
from paging.policy_writes import StepSpec, TargetSpec, policy_save
from tests.factories import (
    UserFactory,
)
from tests.paging.factories import ServiceFactory
from tests.paging.test_config_section import apply
from tests.paging.test_policy_versions import paged
from tests.support import SMS_AT_ONCE, T0, RecordingChannel, engineer_with, fire

pytestmark = pytest.mark.django_db

MIN = timedelta(minutes=1)


def _responder(username: str, phone: str):
    return engineer_with(username.title(), phone, SMS_AT_ONCE, username=username)


# The edit, whichever path: step 1 waits 30 minutes instead of 10, step 2 pages Alice
# instead of Bob.
def _by_api(policy: EscalationPolicy, alice, bob, tmp_path: Path) -> None:
    staff = APIClient()
    staff.force_authenticate(UserFactory(is_staff=True))
    answer = staff.patch(
        f"/api/v1/escalation-policies/{policy.pk}/",
        {
            "steps": [
                {"delay_minutes": 30, "targets": [{"kind": "engineer", "engineer": alice.pk}]},
                {"delay_minutes": 10, "targets": [{"kind": "engineer", "engineer": alice.pk}]},
            ]
        },
        format="json",
    )
    assert answer.status_code == 200, answer.content


def _by_admin(policy: EscalationPolicy, alice, bob, tmp_path: Path) -> None:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    first, second = policy.steps.order_by("position")
    answer = client.post(
        f"/admin/paging/escalationpolicy/{policy.pk}/change/",
        {
            "name": policy.name,
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
            "steps-0-delay_minutes": "30",
            "steps-0-targets": [f"engineer:{alice.pk}"],
            "steps-1-id": str(second.pk),
            "steps-1-policy": str(policy.pk),
            "steps-1-number": "2",
            "steps-1-delay_minutes": "10",
            "steps-1-targets": [f"engineer:{alice.pk}"],
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]


def _by_config(policy: EscalationPolicy, alice, bob, tmp_path: Path) -> None:
    doc = {
        "escalation_policies": [
            {
                "name": policy.name,
                "steps": [
                    {"delay_minutes": 30, "targets": [{"engineer": "alice"}]},
                    {"delay_minutes": 10, "targets": [{"engineer": "alice"}]},
                ],
            }
        ]
    }
    assert f"~ escalation_policies[{policy.name}]" in apply(tmp_path, doc)


PATHS: dict[str, Callable] = {"api": _by_api, "admin": _by_admin, "config": _by_config}


@pytest.mark.parametrize("path", list(PATHS))
def test_a_policy_edit_keeps_the_rows_and_the_incident_in_flight_on_its_version(
    path: str, clock, channel: RecordingChannel, tmp_path: Path
) -> None:
    alice = _responder("alice", "+14155550001")
    bob = _responder("bob", "+14155550002")
    policy = policy_save(
        policy=None,
        fields={"name": "Primary"},
        steps=[
            StepSpec(delay_minutes=10, targets=[TargetSpec(kind="engineer", engineer_id=alice.pk)]),
            StepSpec(delay_minutes=10, targets=[TargetSpec(kind="engineer", engineer_id=bob.pk)]),
        ],
    )
    incident = fire(ServiceFactory(escalation_policy=policy))
    tick()
    assert paged(incident) == ["Alice"]
    steps = list(EscalationStep.objects.filter(policy=policy).order_by("position"))
    first_target = EscalationTarget.objects.get(step=steps[0])

    clock.shift(MIN)
    PATHS[path](policy, alice, bob, tmp_path)

    # Rows changed in place: the same step rows, step 1's unchanged target kept.
    assert list(EscalationStep.objects.filter(policy=policy).order_by("position")) == steps
    assert [s.delay_minutes for s in EscalationStep.objects.order_by("position")] == [30, 10]
    assert EscalationTarget.objects.filter(pk=first_target.pk).exists()
    policy.refresh_from_db()
    assert policy.current_version.number == 2
    # The incident in flight still runs v1: step 2 is Bob's, due 10 minutes after step 1.
    incident = Incident.objects.get(pk=incident.pk)
    assert (incident.escalation_version.number, incident.escalation_step) == (1, 1)
    assert incident.next_due_at == T0 + 10 * MIN
    clock.shift(9 * MIN)
    tick()
    assert paged(incident) == ["Alice", "Bob"]
    # A new incident takes v2: Alice, then 30 minutes until its next step.
    second = fire(ServiceFactory(escalation_policy=policy), key="second")
    tick()
    second.refresh_from_db()
    assert second.escalation_version.number == 2
    assert second.next_due_at == T0 + 40 * MIN
