"""Every write path records who changed what: API, admin, config file, callbacks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client

from oncall.audit.models import AuditEntry
from oncall.people.services import team_create, team_update
from paging.channels.links.tokens import link_token
from paging.models import Integration
from tests.factories import ContactMethodFactory, EngineerFactory, TeamFactory
from tests.paging.factories import IncidentFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def entries(object_type: str, object_id: object | None = None) -> list[AuditEntry]:
    qs = AuditEntry.objects.filter(object_type=object_type)
    if object_id is not None:
        qs = qs.filter(object_id=str(object_id))
    return list(qs.order_by("seq"))


def test_policy_and_schedule_changed_through_the_api_are_recorded(boss, boss_api) -> None:
    team = TeamFactory(name="Payments")
    alice = EngineerFactory(user__username="alice")
    body = {
        "name": "primary",
        "team": team.pk,
        "steps": [{"delay_minutes": 5, "targets": [{"kind": "engineer", "engineer": alice.pk}]}],
    }
    policy = boss_api.post("/api/v1/escalation-policies/", body, format="json").json()
    response = boss_api.patch(
        f"/api/v1/escalation-policies/{policy['id']}/",
        {"repeat": 2, "steps": [{"delay_minutes": 10, "targets": []}]},
        format="json",
    )
    assert response.status_code == 200
    schedule = boss_api.post(
        "/api/v1/schedules/", {"team": team.pk, "name": "Primary"}, format="json"
    ).json()
    response = boss_api.patch(
        f"/api/v1/schedules/{schedule['id']}/", {"name": "Primary rota"}, format="json"
    )
    assert response.status_code == 200

    created, updated = entries("paging.escalationpolicy", policy["id"])
    assert (created.action, updated.action) == ("create", "update")
    for entry in (created, updated):
        assert (entry.actor_kind, entry.actor_user_id) == ("token", boss.pk)
        assert entry.actor_label == "boss (API token)"
    assert created.changes["name"] == [None, "primary"]
    assert updated.changes["repeat"] == [0, 2]
    assert updated.changes["steps"] == [
        [{"delay_minutes": 5, "targets": [f"engineer:{alice.pk}"]}],
        [{"delay_minutes": 10, "targets": []}],
    ]
    assert set(updated.changes) == {"repeat", "steps", "current_version_id"}
    _, renamed = entries("schedules.schedule", schedule["id"])
    assert renamed.action == "update" and renamed.changes == {"name": ["Primary", "Primary rota"]}
    assert renamed.actor_user_id == boss.pk


def test_history_pages_show_the_audit_trail(boss_api, boss_admin) -> None:
    team = TeamFactory()
    schedule = boss_api.post(
        "/api/v1/schedules/", {"team": team.pk, "name": "Night"}, format="json"
    ).json()
    boss_api.patch(f"/api/v1/schedules/{schedule['id']}/", {"name": "Nights"}, format="json")
    page = boss_admin.get(f"/admin/schedules/schedule/{schedule['id']}/history/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="audit-trail"' in html
    assert html.count("boss (API token)") == 2
    assert "<td>Night</td><td>Nights</td>" in html  # the name, before and after
    # What belongs to the schedule shows on its page too: a layer, an override.
    alice = EngineerFactory(display_name="Alice")
    boss_api.post(
        "/api/v1/layers/",
        {
            "schedule": schedule["id"],
            "name": "Weekdays",
            "start_date": "2030-01-07",
            "members": [alice.pk],
        },
        format="json",
    )
    html = boss_admin.get(f"/admin/schedules/schedule/{schedule['id']}/history/").content.decode()
    assert html.count("boss (API token)") == 3
    assert "<td>layer Nights / Weekdays</td>" in html and "<td>this schedule</td>" in html
    assert f"<td>members</td><td>—</td><td>[{alice.pk}]</td>" in html


def test_admin_edit_is_recorded_with_the_admin_user(boss, boss_admin) -> None:
    cm = ContactMethodFactory(kind="sms", value="+14155550100", label="")
    response = boss_admin.post(
        f"/admin/oncall/contactmethod/{cm.pk}/change/",
        {"value": "+14155550199", "label": "cell"},
    )
    assert response.status_code == 302
    (entry,) = entries("oncall.contactmethod", cm.pk)
    assert (entry.actor_kind, entry.actor_user_id, entry.actor_label) == (
        "user",
        boss.pk,
        "boss (admin)",
    )
    assert entry.changes["value"] == ["+14155550100", "+14155550199"]
    assert entry.changes["label"] == ["", "cell"]


def test_admin_bulk_delete_goes_through_the_service(boss_admin) -> None:
    teams = [TeamFactory(), TeamFactory()]
    response = boss_admin.post(
        "/admin/oncall/team/",
        {"action": "delete_selected", "_selected_action": [t.pk for t in teams], "post": "yes"},
    )
    assert response.status_code == 302
    deleted = AuditEntry.objects.filter(object_type="oncall.team", action="delete")
    assert sorted(int(e.object_id) for e in deleted) == sorted(t.pk for t in teams)


def test_oncall_apply_is_recorded_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "oncall.yaml"
    path.write_text(
        "teams:\n  - {slug: sre, name: SRE}\n"
        "engineers:\n  - username: dana\n    display_name: Dana\n    teams: [{team: sre}]\n"
    )
    call_command("oncall_apply", str(path), verbosity=0)
    path.write_text(path.read_text().replace("name: SRE", "name: Site Reliability"))
    call_command("oncall_apply", str(path), verbosity=0)

    label = f"config file {path} via oncall_apply"
    made = AuditEntry.objects.order_by("seq")
    assert [(e.action, e.object_type) for e in made] == [
        ("create", "oncall.team"),
        ("create", "oncall.engineer"),
        ("create", "oncall.teammembership"),
        ("update", "oncall.team"),
    ]
    assert {(e.actor_kind, e.actor_label) for e in made} == {("config", label)}
    assert made.last().changes == {"name": ["SRE", "Site Reliability"]}

    call_command("oncall_apply", str(path), "--dry-run", verbosity=0)
    assert AuditEntry.objects.count() == 4  # nothing applied, nothing recorded


def test_ack_through_the_api_is_recorded(boss) -> None:
    from rest_framework.test import APIClient

    carol = EngineerFactory(user__username="carol")
    client = APIClient()
    client.force_authenticate(carol.user)
    incident = IncidentFactory()
    assert client.post(f"/api/v1/incidents/{incident.pk}/acknowledge/").status_code == 200
    (entry,) = entries("paging.incident", incident.pk)
    assert entry.action == "acknowledge"
    assert (entry.actor_kind, entry.actor_user_id) == ("user", carol.user_id)
    assert entry.changes["status"] == ["triggered", "acknowledged"]
    assert entry.changes["acknowledged_by_id"] == [None, carol.pk]
    assert entry.note == "api"


def test_ack_through_a_signed_link_is_the_engineers_via_the_link() -> None:
    carol = EngineerFactory(user__username="carol")
    incident = IncidentFactory()
    token = link_token(incident_id=incident.pk, engineer_id=carol.pk, action="acknowledge")
    client = Client(enforce_csrf_checks=True)
    page = client.get(f"/l/{token}/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    assert client.post(f"/l/{token}/", {"csrfmiddlewaretoken": csrf}).status_code == 200
    (entry,) = entries("paging.incident", incident.pk)
    assert entry.action == "acknowledge"
    assert entry.actor_kind == "provider"
    assert (entry.actor_user_id, entry.actor_label) == (carol.user_id, "carol via signed link")


def test_secrets_are_masked_in_the_diff(boss_api) -> None:
    service = ServiceFactory()
    made = boss_api.post(
        "/api/v1/integrations/", {"service": service.pk, "kind": "webhook"}, format="json"
    )
    token = Integration.objects.get(pk=made.json()["id"]).token
    routing_key = "R0UTINGKEY0123456789abcdef012345"
    body = {
        "name": "forward",
        "steps": [
            {
                "delay_minutes": 0,
                "targets": [{"kind": "pagerduty_service", "address": routing_key}],
            }
        ],
    }
    assert boss_api.post("/api/v1/escalation-policies/", body, format="json").status_code == 201

    written = json.dumps([e.changes for e in AuditEntry.objects.all()])
    assert token not in written and routing_key not in written
    (integration_entry,) = entries("paging.integration")
    assert integration_entry.changes["token"] == [None, f"…{token[-4:]}"]
    (policy_entry,) = entries("paging.escalationpolicy")
    assert policy_entry.changes["steps"][1][0]["targets"] == ["pagerduty_service:…2345"]


def test_a_rolled_back_change_leaves_no_entry() -> None:
    team = team_create(name="Core")
    assert AuditEntry.objects.count() == 1
    with pytest.raises(RuntimeError), transaction.atomic():
        team_update(team=team, name="Core platform")
        assert AuditEntry.objects.count() == 2  # written in the change's transaction…
        raise RuntimeError("the request failed after the service ran")
    assert AuditEntry.objects.count() == 1  # …and gone with it
    TeamFactory(name="Taken")
    with pytest.raises(Exception, match="already exists"):
        team_update(team=team, name="Taken")  # refused inside the service
    assert AuditEntry.objects.count() == 1


def test_user_admin_changes_are_recorded_with_the_password_masked(boss, boss_admin) -> None:
    carol = EngineerFactory(user__username="carol").user
    form = {
        "username": "carol",
        "first_name": "",
        "last_name": "",
        "email": "carol.new@example.test",
        "is_active": "on",
        "is_staff": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    response = boss_admin.post(f"/admin/auth/user/{carol.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    (entry,) = entries("auth.user", carol.pk)
    assert entry.actor_label == "boss (admin)"
    assert entry.changes["is_staff"] == [False, True]
    assert entry.changes["email"] == [carol.email, "carol.new@example.test"]
    assert "password" not in entry.changes
    new = boss_admin.post(
        "/admin/auth/user/add/",
        {"username": "erin", "password1": "x-Very-long-pw-1", "password2": "x-Very-long-pw-1"},
    )
    assert new.status_code == 302
    (created,) = entries("auth.user", AuditEntry.objects.filter(action="create").get().object_id)
    assert created.changes["password"] == [None, "…"]


def test_a_save_that_changes_nothing_records_nothing(boss_admin) -> None:
    team = team_create(name="Core", description="the core")
    response = boss_admin.post(
        f"/admin/oncall/team/{team.pk}/change/",
        {
            "name": "Core",
            "slug": team.slug,
            "description": "the core",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302
    assert [e.action for e in entries("oncall.team", team.pk)] == ["create"]
