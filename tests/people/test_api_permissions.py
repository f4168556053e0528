"""Who may do what: staff / self (alice) / another engineer (bob) / anonymous.

Another engineer's contact methods and rules answer 404 (they are invisible), writes
that need staff answer 403, anonymous requests 401 with WWW-Authenticate.
"""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from oncall.people.models import ContactMethod, Engineer, NotificationRule, Team, TeamMembership
from tests.factories import (
    ContactMethodFactory,
    MembershipFactory,
    NotificationRuleFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def clients(staff_api, alice_api, bob_api, anon_api):
    return {"staff": staff_api, "self": alice_api, "other": bob_api, "anon": anon_api}


@pytest.fixture
def team(alice) -> Team:
    team = TeamFactory(name="Platform", slug="platform")
    MembershipFactory(team=team, engineer=alice, role="admin")
    return team


@pytest.fixture
def alice_cm(alice) -> ContactMethod:
    return ContactMethodFactory(
        engineer=alice, kind="email", value="alice@example.test", verified_at=None
    )


@pytest.fixture
def alice_rule(alice, alice_cm) -> NotificationRule:
    return NotificationRuleFactory(engineer=alice, contact_method=alice_cm, delay_minutes=0)


def test_anonymous_gets_401_with_www_authenticate(anon_api, team, alice_cm, alice_rule) -> None:
    urls = [
        "/api/v1/teams/",
        f"/api/v1/teams/{team.pk}/",
        "/api/v1/team-memberships/",
        "/api/v1/engineers/",
        "/api/v1/engineers/me/",
        "/api/v1/contact-methods/",
        f"/api/v1/contact-methods/{alice_cm.pk}/",
        "/api/v1/notification-rules/",
        f"/api/v1/notification-rules/{alice_rule.pk}/",
        "/api/v1/me/token/",
    ]
    for url in urls:
        response = anon_api.get(url)
        assert response.status_code == 401, url
        assert response["WWW-Authenticate"] == "Token"
    for url, body in [
        ("/api/v1/teams/", {"name": "X"}),
        ("/api/v1/contact-methods/", {"kind": "email", "value": "x@example.test"}),
        (f"/api/v1/contact-methods/{alice_cm.pk}/send-verification/", {}),
        (f"/api/v1/contact-methods/{alice_cm.pk}/verify/", {"code": "123456"}),
        ("/api/v1/me/token/", {}),
    ]:
        assert anon_api.post(url, body, format="json").status_code == 401, url
    assert not Team.objects.filter(name="X").exists()


@pytest.mark.parametrize(
    ("who", "read", "write"),
    [("staff", 200, True), ("self", 200, False), ("other", 200, False)],
)
def test_teams_are_read_by_all_and_written_by_staff(clients, team, who, read, write) -> None:
    api = clients[who]
    listing = api.get("/api/v1/teams/")
    assert listing.status_code == read
    assert listing.json()["results"][0]["members"][0]["role"] == "admin"
    assert api.get(f"/api/v1/teams/{team.pk}/").status_code == read
    created = api.post("/api/v1/teams/", {"name": "Data Eng"}, format="json")
    changed = api.patch(f"/api/v1/teams/{team.pk}/", {"description": "d"}, format="json")
    assert created.status_code == (201 if write else 403)
    assert changed.status_code == (200 if write else 403)
    if write:
        assert created.json()["slug"] == "data-eng"
        assert api.delete(f"/api/v1/teams/{created.json()['id']}/").status_code == 204
    else:
        assert api.delete(f"/api/v1/teams/{team.pk}/").status_code == 403
        assert Team.objects.filter(pk=team.pk, description="").exists()


@pytest.mark.parametrize(("who", "write"), [("staff", True), ("self", False), ("other", False)])
def test_memberships_are_read_by_all_and_written_by_staff(clients, team, bob, who, write) -> None:
    api = clients[who]
    listing = api.get(f"/api/v1/team-memberships/?team={team.pk}")
    assert listing.status_code == 200
    assert listing.json()["count"] == 1
    body = {"team": team.pk, "engineer": bob.pk, "role": "member"}
    created = api.post("/api/v1/team-memberships/", body, format="json")
    assert created.status_code == (201 if write else 403)
    assert TeamMembership.objects.filter(team=team, engineer=bob).exists() == write
    if write:
        pk = created.json()["id"]
        changed = api.patch(f"/api/v1/team-memberships/{pk}/", {"role": "admin"}, format="json")
        assert changed.status_code == 200
        assert TeamMembership.objects.get(pk=pk).role == "admin"
        assert api.delete(f"/api/v1/team-memberships/{pk}/").status_code == 204
        assert not TeamMembership.objects.filter(team=team, engineer=bob).exists()


def test_engineers_read_by_all_created_by_staff_only(clients, alice, bob, team) -> None:
    for who in ("staff", "self", "other"):
        listing = clients[who].get("/api/v1/engineers/")
        assert listing.status_code == 200
        assert {e["username"] for e in listing.json()["results"]} == {"alice", "bob"}
    only_team = clients["self"].get(f"/api/v1/engineers/?team={team.pk}").json()["results"]
    assert [e["username"] for e in only_team] == ["alice"]
    assert only_team[0]["teams"] == [
        {"team": team.pk, "slug": "platform", "name": "Platform", "role": "admin"}
    ]
    body = {"username": "carol", "display_name": "Carol", "time_zone": "Asia/Tokyo"}
    for who in ("self", "other"):
        assert clients[who].post("/api/v1/engineers/", body, format="json").status_code == 403
    created = clients["staff"].post("/api/v1/engineers/", body, format="json")
    assert created.status_code == 201, created.json()
    carol = Engineer.objects.get(user__username="carol")
    assert carol.time_zone == "Asia/Tokyo"
    assert not carol.user.has_usable_password()


def test_engineer_edits_self_only_and_not_staff_fields(clients, alice, bob) -> None:
    me = clients["self"].get("/api/v1/engineers/me/")
    assert me.status_code == 200 and me.json()["id"] == alice.pk
    own = clients["self"].patch(
        f"/api/v1/engineers/{alice.pk}/", {"time_zone": "Europe/Paris"}, format="json"
    )
    assert own.status_code == 200
    alice.refresh_from_db()
    assert alice.time_zone == "Europe/Paris"
    other = clients["other"].patch(
        f"/api/v1/engineers/{alice.pk}/", {"time_zone": "UTC"}, format="json"
    )
    assert other.status_code == 403
    escalate = clients["self"].patch(
        f"/api/v1/engineers/{alice.pk}/", {"is_staff": True}, format="json"
    )
    assert escalate.status_code == 403
    alice.user.refresh_from_db()
    assert not alice.user.is_staff
    by_staff = clients["staff"].patch(
        f"/api/v1/engineers/{bob.pk}/", {"display_name": "Robert", "is_staff": True}, format="json"
    )
    assert by_staff.status_code == 200
    bob.refresh_from_db()
    assert bob.display_name == "Robert" and bob.user.is_staff
    assert clients["staff"].delete(f"/api/v1/engineers/{bob.pk}/").status_code == 405


def test_staff_without_profile_has_no_me(staff_api) -> None:
    assert staff_api.get("/api/v1/engineers/me/").status_code == 404


@pytest.mark.parametrize(("who", "sees"), [("staff", True), ("self", True), ("other", False)])
def test_contact_methods_visible_to_owner_and_staff_only(clients, alice_cm, who, sees) -> None:
    api = clients[who]
    ids = [cm["id"] for cm in api.get("/api/v1/contact-methods/").json()["results"]]
    assert (alice_cm.pk in ids) == sees
    url = f"/api/v1/contact-methods/{alice_cm.pk}/"
    expected = 200 if sees else 404
    assert api.get(url).status_code == expected
    assert api.patch(url, {"label": "mine"}, format="json").status_code == expected
    assert api.post(f"{url}disable/", {"reason": "x"}, format="json").status_code == expected
    assert api.post(f"{url}enable/").status_code == expected
    assert api.post(f"{url}send-verification/").status_code == (202 if sees else 404)
    assert api.post(f"{url}verify/", {"code": "000000"}, format="json").status_code == (
        400 if sees else 404
    )
    assert api.delete(url).status_code == (204 if sees else 404)
    assert ContactMethod.objects.filter(pk=alice_cm.pk).exists() != sees


def test_contact_method_create_for_self_or_by_staff(clients, alice, bob) -> None:
    body = {"kind": "slack", "value": "U012AB3CD"}
    own = clients["self"].post("/api/v1/contact-methods/", body, format="json")
    assert own.status_code == 201
    assert own.json()["engineer"] == alice.pk
    assert own.json()["is_pageable"] is True
    for_bob = clients["self"].post(
        "/api/v1/contact-methods/", {**body, "engineer": bob.pk}, format="json"
    )
    assert for_bob.status_code == 403
    assert not bob.contact_methods.exists()
    staff = clients["staff"].post(
        "/api/v1/contact-methods/",
        {"kind": "sms", "value": "+14155550123", "engineer": bob.pk},
        format="json",
    )
    assert staff.status_code == 201
    assert staff.json()["is_pageable"] is False  # unverified phone
    assert bob.contact_methods.get().value == "+14155550123"
    # Staff without an engineer profile must say for whom.
    missing = clients["staff"].post("/api/v1/contact-methods/", body, format="json")
    assert missing.status_code == 400 and "engineer" in missing.json()


@pytest.mark.parametrize(("who", "sees"), [("staff", True), ("self", True), ("other", False)])
def test_notification_rules_visible_to_owner_and_staff_only(clients, alice_rule, who, sees) -> None:
    api = clients[who]
    ids = [r["id"] for r in api.get("/api/v1/notification-rules/").json()["results"]]
    assert (alice_rule.pk in ids) == sees
    url = f"/api/v1/notification-rules/{alice_rule.pk}/"
    expected = 200 if sees else 404
    assert api.get(url).status_code == expected
    assert api.patch(url, {"delay_minutes": 3}, format="json").status_code == expected
    alice_rule.refresh_from_db()
    assert alice_rule.delay_minutes == (3 if sees else 0)
    assert api.delete(url).status_code == (204 if sees else 404)


def test_notification_rule_create_for_self_or_by_staff(clients, alice, bob, alice_cm) -> None:
    own = clients["self"].post(
        "/api/v1/notification-rules/",
        {"contact_method": alice_cm.pk, "delay_minutes": 5},
        format="json",
    )
    assert own.status_code == 201
    assert own.json() == {
        "id": own.json()["id"],
        "engineer": alice.pk,
        "contact_method": alice_cm.pk,
        "delay_minutes": 5,
        "urgency": "high",
    }
    for_alice_by_bob = clients["other"].post(
        "/api/v1/notification-rules/",
        {"contact_method": alice_cm.pk, "engineer": alice.pk},
        format="json",
    )
    assert for_alice_by_bob.status_code == 403
    # Staff: the engineer defaults to the contact method's owner.
    staff = clients["staff"].post(
        "/api/v1/notification-rules/",
        {"contact_method": alice_cm.pk, "delay_minutes": 1, "urgency": "low"},
        format="json",
    )
    assert staff.status_code == 201 and staff.json()["engineer"] == alice.pk
    assert NotificationRule.objects.filter(engineer=alice).count() == 2


def test_my_token_get_and_rotate(alice_api, alice) -> None:
    old = Token.objects.get(user=alice.user).key
    shown = alice_api.get("/api/v1/me/token/")
    assert shown.status_code == 200 and shown.json()["token"] == old
    rotated = alice_api.post("/api/v1/me/token/")
    assert rotated.status_code == 200
    new = rotated.json()["token"]
    assert new != old
    # The old token no longer works; the new one does.
    assert alice_api.get("/api/v1/engineers/me/").status_code == 401
    alice_api.credentials(HTTP_AUTHORIZATION=f"Token {new}")
    assert alice_api.get("/api/v1/engineers/me/").status_code == 200


def test_session_auth_works_for_the_browsable_api(client, alice) -> None:
    client.force_login(alice.user)
    assert client.get("/api/v1/contact-methods/").status_code == 200


def test_my_first_token_is_issued_through_the_service_and_audited(client, alice) -> None:
    """A token first shown by GET is issued by ``user_token_get`` (issue 14, part 3):
    recorded like a rotation from none, its value masked; showing it again writes nothing."""
    from oncall.audit.models import AuditEntry

    Token.objects.filter(user=alice.user).delete()
    client.force_login(alice.user)
    first = client.get("/api/v1/me/token/")
    assert first.status_code == 200
    key = first.json()["token"]
    assert client.get("/api/v1/me/token/").json()["token"] == key
    entry = AuditEntry.objects.get(action="api_token_rotate")
    assert entry.object_id == str(alice.user.pk)
    assert entry.changes["api_token"][0] is None
    assert key not in str(entry.changes) and entry.changes["api_token"][1].endswith(key[-4:])
