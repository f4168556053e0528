"""Issue 9 (f): maintenance windows end properly.

An incident opened during a window is due when the window ends; the engine then starts
its escalation if it still fires ("maintenance ended, still firing"), so a new alert
joining it after the window pages too; one whose alerts resolved during the window
pages nobody.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from rest_framework.test import APIClient

from paging.alert_event import AlertEvent
from paging.engine import tick
from paging.incident_actions import incident_escalate_now
from paging.ingest import IngestResult, alerts_ingest
from paging.models import Incident, Integration, Message
from tests.factories import UserFactory
from tests.paging.factories import (
    IntegrationFactory,
    MaintenanceWindowFactory,
    ServiceFactory,
    policy_with_steps,
)
from tests.paging.test_policy_versions import paged, responder
from tests.support import T0, RecordingChannel

pytestmark = pytest.mark.django_db

MIN = timedelta(minutes=1)


@pytest.fixture
def setup():
    """Alice pages by SMS (step 1, then 10 minutes to step 2 = Alice again); the
    service is in maintenance from T0 - 5 min to T0 + 30 min."""
    alice = responder("Alice", "+14155550001")
    service = ServiceFactory(
        escalation_policy=policy_with_steps([alice], [alice], delay_minutes=10)
    )
    window = MaintenanceWindowFactory(
        service=service, starts_at=T0 - 5 * MIN, ends_at=T0 + 30 * MIN
    )
    integration = IntegrationFactory(service=service, grouping=Integration.Grouping.GROUP)
    return integration, window


def send(integration: Integration, action: str, alert_key: str) -> IngestResult:
    event = AlertEvent(action=action, alert_key=alert_key, group_key="grp", title=f"{alert_key}")  # type: ignore[arg-type]
    return alerts_ingest(integration=integration, events=[event])


def timeline(incident: Incident) -> list[tuple[str, str]]:
    return list(incident.events.order_by("at", "id").values_list("kind", "text"))


def at(clock, when: datetime) -> None:
    clock.move_to(when)
    tick()


def test_new_alert_after_the_window_joins_and_pages(
    clock, setup, channel: RecordingChannel
) -> None:
    integration, window = setup
    send(integration, "trigger", "disk")
    incident = Incident.objects.get()
    assert incident.in_maintenance and incident.next_due_at == window.ends_at
    at(clock, T0 + 10 * MIN)
    assert paged(incident) == []

    clock.move_to(T0 + 31 * MIN)  # the window is over; no tick ran since it ended
    result = send(integration, "trigger", "cpu")
    assert result.outcomes == ["joined"] and result.incident_ids == [incident.pk]
    tick()
    assert paged(incident) == ["Alice"]  # once, for the incident
    assert [(s.destination, s.at) for s in channel.sent] == [("+14155550001", T0 + 31 * MIN)]
    incident.refresh_from_db()
    assert incident.escalation_started_at == T0 + 31 * MIN
    assert incident.next_due_at == T0 + 41 * MIN
    assert [kind for kind, _ in timeline(incident)][:7] == [
        "triggered",
        "maintenance",
        "alert_received",
        "alert_received",
        "maintenance_ended",
        "policy_version",
        "escalation_step",
    ]


def test_still_firing_when_the_window_ends_starts_its_escalation_then(
    clock, setup, channel: RecordingChannel
) -> None:
    integration, window = setup
    send(integration, "trigger", "disk")
    send(integration, "trigger", "cpu")
    incident = Incident.objects.get()
    at(clock, T0 + 10 * MIN)
    send(integration, "resolve", "cpu")  # one of its alerts resolves; the other fires
    at(clock, T0 + 29 * MIN)
    assert paged(incident) == [] and channel.sent == []

    at(clock, window.ends_at)
    assert paged(incident) == ["Alice"]
    assert [(s.destination, s.at) for s in channel.sent] == [("+14155550001", T0 + 30 * MIN)]
    assert ("maintenance_ended", "maintenance ended, still firing") in timeline(incident)
    ended = incident.events.get(kind="maintenance_ended")
    assert ended.at == window.ends_at
    incident.refresh_from_db()
    assert incident.escalation_started_at == window.ends_at
    at(clock, T0 + 40 * MIN)  # the policy goes on from there: step 2 ten minutes later
    assert paged(incident) == ["Alice", "Alice"]


def test_alerts_resolved_during_the_window_page_nobody(
    clock, setup, channel: RecordingChannel
) -> None:
    integration, window = setup
    send(integration, "trigger", "disk")
    incident = Incident.objects.get()
    at(clock, T0 + 10 * MIN)
    send(integration, "resolve", "disk")
    incident.refresh_from_db()
    assert (incident.status, incident.next_due_at) == ("resolved", None)
    for minutes in (30, 31, 60, 120):
        at(clock, T0 + minutes * MIN)
    assert not Message.objects.exists() and channel.sent == []
    kinds = [kind for kind, _ in timeline(incident)]
    assert "maintenance_ended" not in kinds and "escalation_step" not in kinds

    # The same alert after the window opens a new incident, which pages.
    send(integration, "trigger", "disk")
    tick()
    fresh = Incident.objects.exclude(pk=incident.pk).get()
    assert not fresh.in_maintenance
    assert paged(fresh) == ["Alice"]


def test_back_to_back_windows_hold_until_the_last_ends(clock, setup, channel) -> None:
    integration, window = setup
    MaintenanceWindowFactory(
        service=window.service, starts_at=window.ends_at, ends_at=window.ends_at + 60 * MIN
    )
    send(integration, "trigger", "disk")
    incident = Incident.objects.get()
    at(clock, window.ends_at)
    assert paged(incident) == []
    incident.refresh_from_db()
    assert incident.next_due_at == window.ends_at + 60 * MIN
    at(clock, window.ends_at + 60 * MIN)
    assert paged(incident) == ["Alice"]


def test_a_window_ended_early_through_the_api_releases_its_incidents(clock, setup, channel) -> None:
    integration, window = setup
    send(integration, "trigger", "disk")
    incident = Incident.objects.get()
    staff = APIClient()
    staff.force_authenticate(UserFactory(is_staff=True))
    clock.move_to(T0 + 5 * MIN)
    response = staff.patch(
        f"/api/v1/maintenance-windows/{window.pk}/", {"ends_at": (T0 + 5 * MIN).isoformat()}
    )
    assert response.status_code == 200, response.content
    tick()
    assert paged(incident) == ["Alice"]
    assert incident.events.filter(kind="maintenance_ended").get().at == T0 + 5 * MIN


def test_a_deleted_window_releases_its_incidents(clock, setup, channel) -> None:
    integration, window = setup
    send(integration, "trigger", "disk")
    incident = Incident.objects.get()
    staff = APIClient()
    staff.force_authenticate(UserFactory(is_staff=True))
    clock.move_to(T0 + 5 * MIN)
    assert staff.delete(f"/api/v1/maintenance-windows/{window.pk}/").status_code == 204
    tick()
    assert paged(incident) == ["Alice"]


def test_escalating_by_hand_during_the_window_pages_now(clock, setup, channel) -> None:
    integration, _ = setup
    send(integration, "trigger", "disk")
    incident = Incident.objects.get()
    at(clock, T0 + 5 * MIN)
    incident_escalate_now(incident_id=incident.pk)
    tick()
    assert paged(incident) == ["Alice"]
    assert not incident.events.filter(kind="maintenance_ended").exists()
