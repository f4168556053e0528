"""Secrets hygiene: routing keys masked for all but staff and the team's admins,
/healthz details only for staff or its token, and integration token rotation (admin and
API, one service) that stops the old token at once in every process."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from oncall.audit.models import AuditEntry
from oncall.people.models import TeamMembership
from paging.inbound import integrations as integration_cache
from paging.integration_tokens import integration_token_rotate
from paging.models import Integration
from tests.factories import EngineerFactory, MembershipFactory, TeamFactory, UserFactory
from tests.paging.factories import (
    EscalationPolicyFactory,
    EscalationStepFactory,
    EscalationTargetFactory,
    IntegrationFactory,
)

pytestmark = pytest.mark.django_db

ROUTING_KEY = "R0UT1NGKEY00000000000000000SEKR"


def api_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def routing_key_seen_by(user, policy_id: int) -> str:
    body = api_for(user).get(f"/api/v1/escalation-policies/{policy_id}/").json()
    [target] = [t for step in body["steps"] for t in step["targets"]]
    listed = api_for(user).get("/api/v1/escalation-policies/").json()["results"]
    [row] = [p for p in listed if p["id"] == policy_id]
    assert row["steps"][0]["targets"][0]["address"] == target["address"]
    return target["address"]


def test_routing_keys_are_masked_for_all_but_staff_and_team_admins(db) -> None:
    team = TeamFactory()
    policy = EscalationPolicyFactory(team=team)
    step = EscalationStepFactory(policy=policy, position=0)
    EscalationTargetFactory(step=step, kind="pagerduty_service", address=ROUTING_KEY)
    staff = UserFactory(is_staff=True)
    admin = EngineerFactory()
    MembershipFactory(team=team, engineer=admin, role=TeamMembership.Role.ADMIN)
    member = EngineerFactory()
    MembershipFactory(team=team, engineer=member, role=TeamMembership.Role.MEMBER)
    outsider = EngineerFactory()
    other_admin = EngineerFactory()
    MembershipFactory(team=TeamFactory(), engineer=other_admin, role=TeamMembership.Role.ADMIN)

    assert routing_key_seen_by(staff, policy.pk) == ROUTING_KEY
    assert routing_key_seen_by(admin.user, policy.pk) == ROUTING_KEY
    for user in (member.user, outsider.user, other_admin.user):
        assert routing_key_seen_by(user, policy.pk) == "…SEKR"


def test_integration_tokens_are_staff_only(db) -> None:
    integration = IntegrationFactory()
    engineer = EngineerFactory()
    MembershipFactory(
        team=integration.service.team, engineer=engineer, role=TeamMembership.Role.MEMBER
    )
    client = api_for(engineer.user)
    assert client.get("/api/v1/integrations/").status_code == 403
    assert client.post(f"/api/v1/integrations/{integration.pk}/rotate-token/").status_code == 403
    assert Integration.objects.get(pk=integration.pk).token == integration.token


# --- /healthz ----------------------------------------------------------------------------


def test_healthz_answers_anonymous_callers_with_the_status_only(db, settings) -> None:
    settings.HEALTHZ_TOKEN = "h-token"
    response = Client().get("/healthz")
    assert response.status_code == 503  # the engine never ticked
    assert response.json() == {"status": "unhealthy"}
    assert Client().get("/healthz", HTTP_AUTHORIZATION="Bearer wrong").json() == {
        "status": "unhealthy"
    }
    detailed = Client().get("/healthz", HTTP_AUTHORIZATION="Bearer h-token").json()
    assert detailed["reasons"] == ["the engine has never ticked"] and "database" in detailed
    staff = Client()
    staff.force_login(UserFactory(is_staff=True))
    assert "engine" in staff.get("/healthz").json()
    engineer = Client()
    engineer.force_login(EngineerFactory().user)
    assert engineer.get("/healthz").json() == {"status": "unhealthy"}


def test_healthz_without_a_token_configured_shows_details_to_staff_only(db, settings) -> None:
    settings.HEALTHZ_TOKEN = ""
    assert Client().get("/healthz", HTTP_AUTHORIZATION="Bearer ").json() == {"status": "unhealthy"}


# --- token rotation ------------------------------------------------------------------------


def alert(client: Client, token: str):
    body = {
        "version": "4",
        "status": "firing",
        "groupKey": "g",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "Down"},
                "annotations": {},
                "startsAt": "2026-11-20T03:14:07Z",
                "fingerprint": "7c1f2a9e4b3d5c60",
            }
        ],
    }
    return client.post(
        f"/integrations/alertmanager/{token}/", data=body, content_type="application/json"
    )


def test_rotation_through_the_api_stops_the_old_token_in_every_process(db) -> None:
    integration = IntegrationFactory(kind=Integration.Kind.ALERTMANAGER)
    old = integration.token
    client = Client()
    assert alert(client, old).status_code == 202
    # Another process cached the integration a moment ago and keeps it for 5 s.
    stale = Integration.objects.select_related("service").get(pk=integration.pk)

    response = api_for(UserFactory(is_staff=True)).post(
        f"/api/v1/integrations/{integration.pk}/rotate-token/"
    )
    assert response.status_code == 200
    new = response.json()["token"]
    assert new != old and len(new) == 32
    assert response.json()["inbound_url"].endswith(f"/integrations/alertmanager/{new}/")
    assert response["Cache-Control"] == "no-store"

    # The audit trail has the rotation, by this user, with both tokens masked.
    entry = AuditEntry.objects.get(action="rotate_token")
    assert entry.object_id == str(integration.pk)
    assert entry.actor_label.startswith("staff") or entry.actor_user_id is not None
    assert entry.changes["token"] == [f"…{old[-4:]}", f"…{new[-4:]}"]
    assert old not in str(entry.changes) and new not in str(entry.changes)

    integration_cache._cache[(old, "alertmanager")] = (time.monotonic() + 5, stale)
    assert alert(client, old).status_code == 404
    assert (old, "alertmanager") not in integration_cache._cache
    assert alert(client, new).status_code == 202


def test_rotation_on_v2_enqueue_refuses_the_old_routing_key_at_once(db) -> None:
    integration = IntegrationFactory(kind=Integration.Kind.PAGERDUTY)
    old = integration.token
    event = {
        "routing_key": old,
        "event_action": "trigger",
        "payload": {"summary": "x", "source": "y", "severity": "critical"},
    }
    client = Client()
    assert client.post("/v2/enqueue", event, content_type="application/json").status_code == 202
    integration_token_rotate(integration_id=integration.pk)
    response = client.post("/v2/enqueue", event, content_type="application/json")
    assert response.status_code == 400 and "routing key" in response.content.decode().lower()


def test_rotation_from_the_admin(db) -> None:
    integration = IntegrationFactory()
    old = integration.token
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = admin.post(
        "/admin/paging/integration/",
        {"action": "rotate_token", "_selected_action": [integration.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "New token for 1 integration(s)" in response.content.decode()
    assert Integration.objects.get(pk=integration.pk).token != old
    assert alert(Client(), old).status_code == 404


def test_celery_worker_log_handlers_mask_secrets_too() -> None:
    import io
    import logging

    from celery.signals import after_setup_logger

    import oncall.celery  # noqa: F401 - connects the signal handlers

    stream = io.StringIO()
    logger = logging.getLogger("tests.celery-worker")
    logger.propagate = False
    logger.addHandler(logging.StreamHandler(stream))
    after_setup_logger.send(sender=None, logger=logger, loglevel=20, logfile=None)
    logger.warning("POST /integrations/webhook/0123456789abcdef0123456789abcdef/ failed")
    assert stream.getvalue() == "POST /integrations/webhook/…cdef/ failed\n"
