"""Unresolved steps through the API, the admin and the config file; the resolution of a
resolve through the API and the admin."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from rest_framework.test import APIClient

from paging.incident_actions import ResolutionInvalid, incident_resolve
from paging.models import EscalationPolicy, Incident, UnresolvedStep
from paging.policy_writes import StepSpec, policy_save
from tests.config.conftest import run_apply, run_export
from tests.factories import EngineerFactory, TeamFactory
from tests.paging.factories import IncidentFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def test_api_round_trip_of_unresolved_steps(staff: APIClient) -> None:
    carol = EngineerFactory(display_name="Carol")
    body = {
        "name": "primary",
        "steps": [{"delay_minutes": 10, "targets": [{"kind": "engineer", "engineer": carol.pk}]}],
        "unresolved_steps": [
            {"after_minutes": 60, "kind": "slack_channel", "address": "C0LEADS"},
            {"after_minutes": 30, "kind": "engineer", "engineer": carol.pk, "priorities": [2, 1]},
        ],
    }
    response = staff.post("/api/v1/escalation-policies/", body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["unresolved_steps"] == [
        {
            "after_minutes": 30,
            "kind": "engineer",
            "engineer": carol.pk,
            "team": None,
            "schedule": None,
            "address": "",
            "priorities": [1, 2],
            "urgency": "",
        },
        {
            "after_minutes": 60,
            "kind": "slack_channel",
            "engineer": None,
            "team": None,
            "schedule": None,
            "address": "C0LEADS",
            "priorities": [],
            "urgency": "",
        },
    ]
    policy = EscalationPolicy.objects.get()
    assert [u["after_minutes"] for u in policy.current_version.unresolved] == [30, 60]
    url = f"/api/v1/escalation-policies/{policy.pk}/"
    # A rename keeps them (and writes no version); a new list replaces them (version 2).
    assert staff.patch(url, {"name": "renamed"}, format="json").json()["version"] == 1
    assert len(staff.get(url).json()["unresolved_steps"]) == 2
    changed = staff.patch(
        url,
        {"unresolved_steps": [{"after_minutes": 45, "kind": "team_all", "team": TeamFactory().pk}]},
        format="json",
    ).json()
    assert changed["version"] == 2
    assert [u["after_minutes"] for u in changed["unresolved_steps"]] == [45]
    assert UnresolvedStep.objects.count() == 1


@pytest.mark.parametrize(
    ("step", "field"),
    [
        ({"after_minutes": 0, "kind": "engineer", "engineer": 1}, "after_minutes"),
        ({"after_minutes": 5, "kind": "team_round_robin", "team": 1}, "kind"),
        ({"after_minutes": 5, "kind": "engineer"}, "engineer"),
        ({"after_minutes": 5, "kind": "engineer", "engineer": 999999}, "engineer"),
        ({"after_minutes": 5, "kind": "slack_channel", "address": "C1", "team": 1}, "team"),
        ({"after_minutes": 5, "kind": "slack_channel", "address": "C1", "urgency": "x"}, "urgency"),
        (
            {"after_minutes": 5, "kind": "slack_channel", "address": "C", "priorities": [7]},
            "priorities",
        ),
        ({"kind": "slack_channel", "address": "C1"}, "after_minutes"),
    ],
)
def test_api_bad_unresolved_steps_are_400_naming_the_field(staff, step, field) -> None:
    body = {"name": "p", "unresolved_steps": [step]}
    response = staff.post("/api/v1/escalation-policies/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["unresolved_steps"]["0"], response.json()
    assert not EscalationPolicy.objects.exists()


def _admin_post(policy: EscalationPolicy, rows: list[dict[str, str]]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": policy.name,
        "repeat": "0",
        "steps-TOTAL_FORMS": "0",
        "steps-INITIAL_FORMS": "0",
        "unresolved_steps-TOTAL_FORMS": str(len(rows)),
        "unresolved_steps-INITIAL_FORMS": "0",
    }
    for i, row in enumerate(rows):
        data.update({f"unresolved_steps-{i}-{k}": v for k, v in row.items()})
        data[f"unresolved_steps-{i}-policy"] = str(policy.pk)
    return data


def test_admin_policy_page_edits_unresolved_steps_through_policy_save(admin_client_) -> None:
    carol = EngineerFactory(display_name="Carol")
    policy = policy_save(policy=None, fields={"name": "Primary"}, steps=[StepSpec(10)])
    url = f"/admin/paging/escalationpolicy/{policy.pk}/change/"
    page = admin_client_.get(url).content.decode()
    assert "Unresolved steps" in page and "unresolved_steps-TOTAL_FORMS" in page
    rows = [
        {
            "after_minutes": "30",
            "kind": "engineer",
            "engineer": str(carol.pk),
            "priorities": "P1, 2",
        },
        {"after_minutes": "60", "kind": "slack_channel", "address": " C0LEADS "},
    ]
    response = admin_client_.post(url, _admin_post(policy, rows))
    assert response.status_code == 302, response.content.decode()[:3000]
    policy.refresh_from_db()
    assert policy.current_version.number == 2
    assert [
        (u["after_minutes"], u["kind"], u["engineer"], u["address"], u["priorities"])
        for u in policy.current_version.unresolved
    ] == [(30, "engineer", carol.pk, "", [1, 2]), (60, "slack_channel", None, "C0LEADS", [])]


def test_admin_unresolved_step_without_its_reference_is_a_form_error(admin_client_) -> None:
    policy = policy_save(policy=None, fields={"name": "Primary"}, steps=[])
    url = f"/admin/paging/escalationpolicy/{policy.pk}/change/"
    rows = [{"after_minutes": "30", "kind": "engineer"}]
    response = admin_client_.post(url, _admin_post(policy, rows))
    assert response.status_code == 200  # the form again, with the error
    assert "required for a engineer target" in response.content.decode()
    assert not UnresolvedStep.objects.exists()


CONFIG = """
teams:
  - slug: core
    name: Core
engineers:
  - username: carol
    display_name: Carol
    teams:
      - team: core
escalation_policies:
  - name: core-default
    team: core
    steps:
      - delay_minutes: 10
        targets:
          - engineer: carol
    unresolved:
      - after_minutes: 30
        notify: {engineer: carol}
        priorities: [P1, P2]
      - after_minutes: 120
        notify: {slack_channel: C0LEADS}
        urgency: high
"""


def test_config_round_trip_of_unresolved_steps(tmp_path) -> None:
    path = tmp_path / "oncall.yaml"
    path.write_text(CONFIG)
    run_apply(path)
    policy = EscalationPolicy.objects.get(name="core-default")
    assert [
        (u["after_minutes"], u["kind"], u["priorities"], u["urgency"])
        for u in policy.current_version.unresolved
    ] == [(30, "engineer", [1, 2], ""), (120, "slack_channel", [], "high")]
    exported = yaml.safe_load(run_export())
    item = next(p for p in exported["escalation_policies"] if p["name"] == "core-default")
    assert item["unresolved"] == [
        {"after_minutes": 30, "notify": {"engineer": "carol"}, "priorities": ["P1", "P2"]},
        {"after_minutes": 120, "notify": {"slack_channel": "C0LEADS"}, "urgency": "high"},
    ]
    assert run_apply(path).strip() == "No changes."
    path.write_text(CONFIG.replace("after_minutes: 120", "after_minutes: 90"))
    out = run_apply(path)
    assert "unresolved" in out
    policy.refresh_from_db()
    assert policy.current_version.number == 2
    assert [u["after_minutes"] for u in policy.current_version.unresolved] == [30, 90]


@pytest.mark.parametrize(
    ("item", "path"),
    [
        ("{after_minutes: 0, notify: {engineer: carol}}", "unresolved[0].after_minutes"),
        ("{after_minutes: 5, notify: {team_round_robin: core}}", "unresolved[0].notify"),
        ("{after_minutes: 5, notify: {engineer: carol}, priorities: [P9]}", "priorities[0]"),
    ],
)
def test_config_bad_unresolved_steps_name_the_path(tmp_path, item: str, path: str) -> None:
    text = CONFIG.split("    unresolved:")[0] + f"    unresolved:\n      - {item}\n"
    file = tmp_path / "oncall.yaml"
    file.write_text(text)
    with pytest.raises(Exception) as caught:  # noqa: PT011 - the command's own error type
        run_apply(file)
    assert path in str(caught.value)
    assert not EscalationPolicy.objects.exists()


# --- resolution ----------------------------------------------------------------------


def test_api_resolve_with_a_resolution(staff: APIClient) -> None:
    incident = IncidentFactory(service=ServiceFactory())
    url = f"/api/v1/incidents/{incident.pk}/resolve/"
    bad = staff.post(url, {"resolution": "nah"}, format="json")
    assert bad.status_code == 400
    assert "resolution" in bad.json()
    incident.refresh_from_db()
    assert incident.status == "triggered"

    data = staff.post(url, {"resolution": "false_positive"}, format="json").json()
    assert (data["status"], data["resolution"], data["changed"]) == (
        "resolved",
        "false_positive",
        True,
    )
    line = [e for e in data["timeline"] if e["kind"] == "resolved"][0]
    assert line["text"] == "resolution: False positive"
    # Never overwritten by a later resolve.
    again = staff.post(url, {"resolution": "fixed"}, format="json").json()
    assert (again["resolution"], again["changed"]) == ("false_positive", False)


def test_a_resolution_can_follow_a_resolve_without_one(staff: APIClient) -> None:
    incident = IncidentFactory(service=ServiceFactory())
    url = f"/api/v1/incidents/{incident.pk}/resolve/"
    assert staff.post(url, {}, format="json").json()["resolution"] is None
    data = staff.post(url, {"resolution": "duplicate"}, format="json").json()
    assert (data["resolution"], data["changed"]) == ("duplicate", True)
    assert [e["text"] for e in data["timeline"] if e["kind"] == "note"] == ["resolution: Duplicate"]


def test_the_service_refuses_an_unknown_resolution() -> None:
    incident = IncidentFactory(service=ServiceFactory())
    with pytest.raises(ResolutionInvalid):
        incident_resolve(incident_id=incident.pk, resolution="oops")
    incident.refresh_from_db()
    assert incident.status == "triggered"


def test_admin_resolve_offers_the_resolution(admin_client_) -> None:
    incident = IncidentFactory(service=ServiceFactory())
    url = f"/admin/paging/incident/{incident.pk}/act/resolve/"
    confirm = admin_client_.post(url, {})
    page = confirm.content.decode()
    assert confirm.status_code == 200
    assert 'name="resolution"' in page and "False positive" in page
    response = admin_client_.post(url, {"confirmed": "1", "resolution": "no_action_needed"})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.status, incident.resolution) == ("resolved", "no_action_needed")
    page = admin_client_.get(f"/admin/paging/incident/{incident.pk}/change/").content.decode()
    assert "No action needed" in page


def test_admin_resolve_without_a_resolution_still_resolves(admin_client_) -> None:
    incident = IncidentFactory(service=ServiceFactory())
    url = f"/admin/paging/incident/{incident.pk}/act/resolve/"
    assert admin_client_.post(url, {"confirmed": "1", "resolution": ""}).status_code == 302
    incident = Incident.objects.get(pk=incident.pk)
    assert (incident.status, incident.resolution) == ("resolved", None)
