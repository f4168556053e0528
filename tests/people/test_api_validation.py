"""Bad input answers 400 naming the field and the reason, never 500."""

from __future__ import annotations

import pytest

from oncall.people.models import ContactMethod, Engineer, NotificationRule
from tests.factories import ContactMethodFactory, TeamFactory

pytestmark = pytest.mark.django_db

CM_URL = "/api/v1/contact-methods/"


def _error(response, field: str) -> str:
    assert response.status_code == 400, response.content
    body = response.json()
    assert field in body, body
    return " ".join(body[field])


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [
        ("sms", "0151 2345678", "E.164"),
        ("voice", "+0123", "E.164"),
        ("email", "not-an-address", "e-mail"),
        ("slack", "alice", "Slack member id"),
        ("slack", "#oncall", "Slack member id"),
    ],
)
def test_bad_contact_values_name_the_value_field(alice_api, kind, value, reason) -> None:
    response = alice_api.post(CM_URL, {"kind": kind, "value": value}, format="json")
    assert reason in _error(response, "value")
    assert not ContactMethod.objects.exists()


def test_bad_kind_and_missing_value(alice_api) -> None:
    response = alice_api.post(CM_URL, {"kind": "pager", "value": "x"}, format="json")
    assert "pager" in _error(response, "kind")
    assert _error(alice_api.post(CM_URL, {"kind": "sms"}, format="json"), "value")


def test_phone_punctuation_is_tidied_and_duplicates_refused(alice_api) -> None:
    first = alice_api.post(CM_URL, {"kind": "sms", "value": "+1 (415) 555-0123"}, format="json")
    assert first.status_code == 201 and first.json()["value"] == "+14155550123"
    again = alice_api.post(CM_URL, {"kind": "sms", "value": "+14155550123"}, format="json")
    assert "already has" in _error(again, "value")


def test_updating_to_a_bad_value_or_another_kind_is_refused(alice_api, alice) -> None:
    cm = ContactMethodFactory(engineer=alice, kind="sms", value="+14155550123")
    url = f"{CM_URL}{cm.pk}/"
    assert "E.164" in _error(alice_api.patch(url, {"value": "12"}, format="json"), "value")
    assert _error(alice_api.patch(url, {"kind": "email"}, format="json"), "kind")
    cm.refresh_from_db()
    assert cm.value == "+14155550123" and cm.verified_at is not None
    changed = alice_api.patch(url, {"value": "+14155550999"}, format="json")
    assert changed.status_code == 200
    assert changed.json()["verified_at"] is None  # a new number must be verified again


def test_bad_time_zone_names_time_zone(staff_api, alice) -> None:
    created = staff_api.post(
        "/api/v1/engineers/", {"username": "carol", "time_zone": "Mars/Olympus"}, format="json"
    )
    assert "IANA" in _error(created, "time_zone")
    patched = staff_api.patch(
        f"/api/v1/engineers/{alice.pk}/", {"time_zone": "CEST"}, format="json"
    )
    assert "IANA" in _error(patched, "time_zone")


def test_engineer_username_and_email_errors(staff_api, alice) -> None:
    dup = staff_api.post("/api/v1/engineers/", {"username": "alice"}, format="json")
    assert _error(dup, "username")
    bad = staff_api.post(
        "/api/v1/engineers/", {"username": "bad name!", "email": "nope"}, format="json"
    )
    assert _error(bad, "email")
    bad_name = staff_api.post("/api/v1/engineers/", {"username": "bad name!"}, format="json")
    assert _error(bad_name, "username")


def test_rule_with_someone_elses_contact_method(alice_api, staff_api, alice, bob) -> None:
    bobs = ContactMethodFactory(engineer=bob, kind="email")
    response = alice_api.post(
        "/api/v1/notification-rules/", {"contact_method": bobs.pk}, format="json"
    )
    assert "another engineer" in _error(response, "contact_method")
    response = staff_api.post(
        "/api/v1/notification-rules/",
        {"contact_method": bobs.pk, "engineer": alice.pk},
        format="json",
    )
    assert "another engineer" in _error(response, "contact_method")
    assert not NotificationRule.objects.exists()


def test_rule_field_errors(alice_api, alice) -> None:
    cm = ContactMethodFactory(engineer=alice, kind="email")
    url = "/api/v1/notification-rules/"
    assert _error(
        alice_api.post(url, {"contact_method": cm.pk, "delay_minutes": -1}, format="json"),
        "delay_minutes",
    )
    assert _error(
        alice_api.post(url, {"contact_method": cm.pk, "urgency": "urgent"}, format="json"),
        "urgency",
    )
    assert _error(alice_api.post(url, {"contact_method": 999999}, format="json"), "contact_method")
    ok = alice_api.post(url, {"contact_method": cm.pk, "delay_minutes": 5}, format="json")
    assert ok.status_code == 201
    dup = alice_api.post(url, {"contact_method": cm.pk, "delay_minutes": 5}, format="json")
    assert "already exists" in _error(dup, "non_field_errors")


def test_team_errors(staff_api) -> None:
    TeamFactory(name="Platform", slug="platform")
    dup = staff_api.post("/api/v1/teams/", {"name": "Platform"}, format="json")
    assert _error(dup, "name")
    bad_slug = staff_api.post("/api/v1/teams/", {"name": "X", "slug": "no spaces"}, format="json")
    assert _error(bad_slug, "slug")


def test_disable_needs_a_reason_and_verify_needs_a_code(alice_api, alice) -> None:
    cm = ContactMethodFactory(engineer=alice, kind="sms", verified_at=None)
    url = f"{CM_URL}{cm.pk}/"
    assert _error(alice_api.post(f"{url}disable/", {}, format="json"), "reason")
    assert _error(alice_api.post(f"{url}verify/", {}, format="json"), "code")
    assert "request one first" in _error(
        alice_api.post(f"{url}verify/", {"code": "123456"}, format="json"), "code"
    )
    assert _error(alice_api.get(f"{CM_URL}?engineer=abc"), "engineer")


def test_bad_filter_params_are_400(alice_api) -> None:
    assert _error(alice_api.get("/api/v1/engineers/?team=x"), "team")
    # Past 64 bits the id overflowed the database driver (a 500).
    big = "99999999999999999999"
    assert "out of range" in _error(alice_api.get(f"/api/v1/engineers/?team={big}"), "team")
    assert "out of range" in _error(alice_api.get(f"{CM_URL}?engineer={big}"), "engineer")


@pytest.mark.parametrize(
    "url", [CM_URL, "/api/v1/notification-rules/", "/api/v1/team-memberships/"]
)
def test_json_number_overflowing_a_float_is_400_not_500(staff_api, url) -> None:
    body = b'{"engineer": 1e999, "team": -1e999, "contact_method": 1e999, "kind": "sms"}'
    response = staff_api.generic("POST", url, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "1e999 is out of range" in response.json()["detail"]


def test_engineer_created_inactive_is_201_not_500(staff_api) -> None:
    # is_active is a writable serializer field, so create must pass it through to the service.
    created = staff_api.post(
        "/api/v1/engineers/", {"username": "dora", "is_active": False}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["is_active"] is False
    assert Engineer.objects.get(user__username="dora").user.is_active is False
