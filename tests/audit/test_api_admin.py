"""Reading the trail: staff only, filtered, as JSON pages or CSV; read-only in the admin."""

from __future__ import annotations

import csv
import io

import pytest
from rest_framework.test import APIClient

from oncall.audit.models import AuditEntry
from oncall.people.services import team_create, team_update
from tests.factories import EngineerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(boss_api) -> None:
    team = team_create(name="Core")  # the system: no request
    boss_api.patch(f"/api/v1/teams/{team.pk}/", {"description": "x"}, format="json")
    team.refresh_from_db()
    team_update(team=team, name="Core platform")


def test_only_staff_read_the_trail(trail) -> None:
    assert APIClient().get("/api/v1/audit/").status_code == 401
    engineer = APIClient()
    engineer.force_authenticate(EngineerFactory().user)
    assert engineer.get("/api/v1/audit/").status_code == 403
    assert engineer.get("/api/v1/audit.csv").status_code == 403


def test_list_newest_first_and_filters(boss, boss_api, trail) -> None:
    data = boss_api.get("/api/v1/audit/").json()
    assert data["count"] == 3
    assert [r["seq"] for r in data["results"]] == [3, 2, 1]
    assert data["results"][1]["actor_label"] == "boss (API token)"
    assert data["results"][1]["changes"] == {"description": ["", "x"]}

    def seqs(**params: object) -> list[int]:
        response = boss_api.get("/api/v1/audit/", params)
        assert response.status_code == 200, response.json()
        return [r["seq"] for r in response.json()["results"]]

    assert seqs(actor_kind="token") == [2]
    assert seqs(actor_user=boss.pk) == [2]
    assert seqs(actor="system") == [3, 1]
    assert seqs(object_type="oncall.team", action="create") == [1]
    since = AuditEntry.objects.get(seq=2).at.isoformat()
    assert seqs(since=since) == [3, 2]
    assert seqs(until=since) == [1]


def test_bad_filters_are_400_naming_the_field(boss_api) -> None:
    response = boss_api.get("/api/v1/audit/", {"actor_kind": "robot", "since": "yesterday"})
    assert response.status_code == 400
    assert set(response.json()) == {"actor_kind", "since"}


@pytest.mark.parametrize("url", ["/api/v1/audit/?format=csv", "/api/v1/audit.csv"])
def test_csv_export_has_every_matching_entry(boss_api, trail, url) -> None:
    response = boss_api.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="audit.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["seq"] for r in rows] == ["3", "2", "1"]
    assert rows[0]["changes"] == '{"name": ["Core", "Core platform"]}'
    assert rows[1]["actor_label"] == "boss (API token)"
    assert len(rows[0]["hash"]) == 64


def test_admin_is_read_only(boss, boss_admin, trail) -> None:
    entry = AuditEntry.objects.get(seq=2)
    listing = boss_admin.get("/admin/audit/auditentry/", {"actor_kind__exact": "token"})
    assert listing.status_code == 200 and "boss (API token)" in listing.content.decode()
    by_user = boss_admin.get("/admin/audit/auditentry/", {"actor_user__id__exact": boss.pk})
    assert by_user.status_code == 200 and "1 audit entry" in by_user.content.decode()
    assert boss_admin.get("/admin/audit/auditentry/add/").status_code == 403
    page = boss_admin.get(f"/admin/audit/auditentry/{entry.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' not in html and entry.hash in html
    assert boss_admin.post(f"/admin/audit/auditentry/{entry.pk}/change/", {}).status_code == 403
    assert boss_admin.get(f"/admin/audit/auditentry/{entry.pk}/delete/").status_code == 403
    by_object = boss_admin.get(
        "/admin/audit/auditentry/", {"object_type": "oncall.team", "object_id": entry.object_id}
    )
    assert by_object.status_code == 200 and "3 audit entries" in by_object.content.decode()
