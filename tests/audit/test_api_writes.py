"""Issue 12 item 3, checked per entity: every create, update and delete through the API
of the objects the runbooks name (overrides, time off, restrictions, maintenance
windows, holidays, people, teams, services, layers, contact methods, notification
rules, every collection's delete) and every incident action writes one entry naming
the object, the action, the API token's owner and the changed fields."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from oncall.audit.models import AuditEntry
from oncall.people.models import Engineer
from paging.models import Service
from schedules.models import Layer, Schedule
from tests.config.conftest import EXAMPLE, run_apply
from tests.paging.factories import IncidentFactory
from tests.security.test_bounded_inputs import COLLECTIONS

pytestmark = pytest.mark.django_db

ACTOR = "boss (API token)"


def written(api: APIClient, method: str, path: str, body: Any = None) -> tuple[Any, list]:
    """Send the request; the answer's body and the (type, action, fields) it recorded."""
    seq = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    response = getattr(api, method)(path, body, format="json")
    assert response.status_code < 300, (method, path, response.content)
    entries = AuditEntry.objects.filter(seq__gt=seq).order_by("seq")
    assert {e.actor_label for e in entries} <= {ACTOR}, path
    recorded = [(e.object_type, e.action, sorted(e.changes)) for e in entries]
    return (response.json() if response.content else None), recorded


@pytest.fixture
def world(boss) -> dict[str, Any]:
    run_apply(EXAMPLE)
    schedule = Schedule.objects.order_by("pk").first()
    return {
        "lena": Engineer.objects.get(user__username="lena"),
        "marcus": Engineer.objects.get(user__username="marcus"),
        "schedule": schedule,
        "layer": Layer.objects.filter(schedule=schedule).order_by("pk").first(),
        "service": Service.objects.order_by("pk").first(),
    }


LATER = {"start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"}


def test_create_update_delete_of_each_kind_is_recorded(boss_api, world) -> None:
    lena, schedule = world["lena"], world["schedule"]
    cases = [
        ("/api/v1/overrides/", "schedules.override",
         {"schedule": schedule.pk, "engineer": lena.pk, "note": "a", **LATER}, {"note": "b"}),
        ("/api/v1/time-off/", "schedules.timeoff",
         {"engineer": lena.pk, "kind": "vacation", "note": "a", **LATER}, {"note": "b"}),
        ("/api/v1/restrictions/", "schedules.restriction",
         {"layer": world["layer"].pk, "weekdays": [0, 1], "start_time": "09:00",
          "end_time": "17:00"}, {"weekdays": [0]}),
        ("/api/v1/maintenance-windows/", "paging.maintenancewindow",
         {"service": world["service"].pk, "starts_at": LATER["start"],
          "ends_at": LATER["end"], "reason": "a"}, {"reason": "b"}),
    ]  # fmt: skip
    for path, object_type, create, update in cases:
        made, recorded = written(boss_api, "post", path, create)
        assert [r[:2] for r in recorded] == [(object_type, "create")], path
        _, recorded = written(boss_api, "patch", f"{path}{made['id']}/", update)
        assert recorded == [(object_type, "update", sorted(update))], path
        _, recorded = written(boss_api, "delete", f"{path}{made['id']}/")
        assert [r[:2] for r in recorded] == [(object_type, "delete")], path


def test_updates_of_people_schedules_and_services_are_recorded(boss_api, world) -> None:
    lena = world["lena"]
    cases = [
        (f"/api/v1/engineers/{lena.pk}/", "oncall.engineer", {"display_name": "Lena F"}),
        (f"/api/v1/teams/{world['schedule'].team_id}/", "oncall.team", {"name": "Plat"}),
        (f"/api/v1/services/{world['service'].pk}/", "paging.service", {"description": "z"}),
        (f"/api/v1/layers/{world['layer'].pk}/", "schedules.layer", {"name": "Nights"}),
        (
            f"/api/v1/contact-methods/{lena.contact_methods.order_by('pk').first().pk}/",
            "oncall.contactmethod",
            {"label": "work phone"},
        ),
        (
            f"/api/v1/notification-rules/{lena.notification_rules.order_by('pk').first().pk}/",
            "oncall.notificationrule",
            {"delay_minutes": 7},
        ),
    ]
    for path, object_type, update in cases:
        _, recorded = written(boss_api, "patch", path, update)
        assert [r[:2] for r in recorded] == [(object_type, "update")], path
        # The diff names the changed field (a layer's name change is recorded as such).
        assert set(update) <= set(recorded[0][2]), (path, recorded)
    made, recorded = written(
        boss_api,
        "post",
        "/api/v1/holiday-calendars/",
        {"name": "X", "holidays": [{"date": "2030-01-01", "name": "New Year"}]},
    )
    assert sorted(recorded) == [
        ("schedules.holidaycalendar", "create", ["description", "name", "source_url"]),
        ("schedules.holidaycalendar", "holidays", ["2030-01-01"]),
    ]


def test_incident_actions_are_recorded(boss_api, world) -> None:
    incident = IncidentFactory(service=world["service"])
    steps = [
        ("acknowledge", None),
        ("escalate", None),
        ("reassign", {"engineer_ids": [world["marcus"].pk]}),
        ("resolve", None),
    ]
    for action, body in steps:
        _, recorded = written(boss_api, "post", f"/api/v1/incidents/{incident.pk}/{action}/", body)
        assert [r[:2] for r in recorded] == [("paging.incident", action)], action
        assert "status" in recorded[0][2] or action == "reassign"


def test_every_collection_delete_is_recorded(boss_api, world) -> None:
    """The first row of every collection, children first: a 2xx delete always leaves an
    entry (a holiday calendar is archived, a team still in use is a 409)."""
    deleted = 0
    for path in reversed(COLLECTIONS):
        rows = boss_api.get(path, {"limit": 1}).json().get("results")
        if not rows:
            continue
        key = rows[0].get("id", rows[0].get("level"))
        seq = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first()
        response = boss_api.delete(f"{path}{key}/")
        if response.status_code >= 300:
            assert response.status_code in (405, 409), (path, response.content)
            continue
        entry = AuditEntry.objects.filter(seq__gt=seq).order_by("seq").first()
        assert entry is not None, path
        assert entry.actor_label == ACTOR, path
        if "id" in rows[0]:  # a priority level is addressed by its level, not its id
            assert entry.object_id == str(key), path
        assert entry.action in ("delete", "archive"), path
        deleted += 1
    assert deleted >= 10
