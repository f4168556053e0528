"""GET /api/v1/messages/: what was sent, to whom, how it went (staff only)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from paging.engine import tick
from paging.models import Message
from paging.outbox import message_enqueue
from tests.factories import UserFactory
from tests.paging.factories import IncidentFactory, ServiceFactory, policy_with_steps
from tests.support import T0, engineer_with_ladder, fire

pytestmark = pytest.mark.django_db

URL = "/api/v1/messages/"


def test_anonymous_is_401_and_non_staff_403(channel) -> None:
    alice = engineer_with_ladder("Alice", "+14155550001")
    fire(ServiceFactory(escalation_policy=policy_with_steps([alice])))
    tick()
    message = Message.objects.first()
    anonymous = APIClient()
    for url in (URL, f"{URL}{message.pk}/"):
        response = anonymous.get(url)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
    # An engineer (even the one paged) does not read the outbox: it holds everyone's
    # numbers and addresses.
    as_alice = APIClient()
    as_alice.force_authenticate(alice.user)
    assert as_alice.get(URL).status_code == 403
    assert as_alice.get(f"{URL}{message.pk}/").status_code == 403
    staff = APIClient()
    staff.force_authenticate(UserFactory(is_staff=True))
    assert staff.get(URL).status_code == 200
    assert staff.get(f"{URL}{message.pk}/").status_code == 200


def test_a_page_as_sent_and_the_incident_links_to_it(clock, channel, staff) -> None:
    alice = engineer_with_ladder("Alice", "+14155550001")
    incident = fire(ServiceFactory(escalation_policy=policy_with_steps([alice])))
    tick()
    detail = staff.get(f"/api/v1/incidents/{incident.pk}/").json()
    assert detail["messages_url"] == f"http://testserver{URL}?incident={incident.pk}"
    response = staff.get(detail["messages_url"])
    assert response.status_code == 200
    rows = response.json()["results"]
    sms = next(r for r in rows if r["kind"] == "sms")
    page = Message.objects.get(kind="sms")
    assert sms == {
        "id": page.pk,
        "incident": incident.pk,
        "engineer": alice.pk,
        "purpose": "page",
        "kind": "sms",
        "contact_method": page.contact_method_id,
        "destination": "+14155550001",
        "subject": page.subject,
        "status": "sent",
        "attempts": 1,
        "rate_limited": 0,
        "transport": "recording",
        "provider_id": f"rec-{page.pk}",
        "last_error": "",
        "escalation_step": 0,
        "escalation_loop": 0,
        "bundled_into": None,
        "created_at": "2026-03-02T03:00:00Z",
        "due_at": "2026-03-02T03:00:00Z",
        "sent_at": "2026-03-02T03:00:00Z",
    }
    # The +5 min call is pending; the body (codes, signed links) is never shown.
    voice = next(r for r in rows if r["kind"] == "voice")
    assert (voice["status"], voice["sent_at"], voice["attempts"]) == ("pending", None, 0)
    assert all("body" not in r for r in rows)


def test_a_failed_send_shows_its_error(clock, channel, staff) -> None:
    alice = engineer_with_ladder("Alice", "+14155550001")
    channel.fail["+14155550001"] = False  # transient: retried later
    incident = fire(ServiceFactory(escalation_policy=policy_with_steps([alice])))
    tick()
    [row] = staff.get(f"{URL}?incident={incident.pk}&kind=sms").json()["results"]
    assert (row["status"], row["attempts"], row["last_error"]) == (
        "pending",
        1,
        "provider said no",
    )
    assert row["due_at"] == "2026-03-02T03:00:10Z"


def _enqueue(key: str, **fields) -> Message:
    defaults = {"purpose": "page", "kind": "sms", "destination": "+14155550009", "body": "x"}
    return message_enqueue(idempotency_key=key, **{**defaults, **fields})


def test_each_filter(clock, staff) -> None:
    a_incident, b_incident = IncidentFactory(), IncidentFactory()
    alice = engineer_with_ladder("Alice", "+14155550001")
    bob = engineer_with_ladder("Bob", "+14155550002")
    a = _enqueue("a", incident_id=a_incident.pk, engineer_id=alice.pk)
    b = _enqueue("b", incident_id=b_incident.pk, engineer_id=bob.pk, kind="voice")
    c = _enqueue("c", purpose="verification", kind="email", engineer_id=alice.pk)
    Message.objects.filter(pk=a.pk).update(status="sent", sent_at=T0)
    Message.objects.filter(pk=b.pk).update(
        status="failed", created_at=T0 - timedelta(days=2), sent_at=None
    )
    Message.objects.filter(pk=c.pk).update(status="sent", sent_at=T0 + timedelta(hours=1))

    def ids(query: str) -> list[int]:
        response = staff.get(f"{URL}?{query}")
        assert response.status_code == 200, response.json()
        return sorted(row["id"] for row in response.json()["results"])

    assert ids("") == sorted([a.pk, b.pk, c.pk])
    assert ids(f"incident={a_incident.pk}") == [a.pk]
    assert ids(f"engineer={alice.pk}") == sorted([a.pk, c.pk])
    assert ids("status=sent") == sorted([a.pk, c.pk])
    assert ids("status=failed,cancelled") == [b.pk]
    assert ids("kind=voice,email") == sorted([b.pk, c.pk])
    assert ids("purpose=verification") == [c.pk]
    day_ago = (T0 - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert ids(f"created_after={day_ago}") == sorted([a.pk, c.pk])
    assert ids(f"created_before={day_ago}") == [b.pk]
    half_hour = (T0 + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    assert ids(f"sent_after={half_hour}") == [c.pk]
    assert ids(f"sent_before={half_hour}") == [a.pk]
    assert ids(f"engineer={alice.pk}&status=sent&kind=sms") == [a.pk]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("incident=x", "incident"),
        ("incident=0", "incident"),
        # Past 64 bits an id would overflow the database driver (a 500).
        ("engineer=99999999999999999999", "engineer"),
        ("status=delivered,lost", "status"),
        ("status=,", "status"),
        ("kind=fax", "kind"),
        ("purpose=spam", "purpose"),
        ("created_after=soon", "created_after"),
        ("created_before=2026-13-01", "created_before"),
        ("sent_after=yesterday", "sent_after"),
        ("sent_before=1e999", "sent_before"),
    ],
)
def test_bad_filter_values_are_400_naming_the_field(staff, query, field) -> None:
    response = staff.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_newest_first_paginated_and_queries_do_not_grow(
    clock, staff, django_assert_max_num_queries
) -> None:
    for n in range(3):
        _enqueue(f"k{n}")
    with django_assert_max_num_queries(3) as few:
        assert staff.get(URL).status_code == 200
    for n in range(3, 60):
        clock.shift(timedelta(seconds=1))
        _enqueue(f"k{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = staff.get(f"{URL}?limit=10").json()
    assert page["count"] == 60
    assert [r["id"] for r in page["results"]][:2] == sorted(
        Message.objects.values_list("pk", flat=True), reverse=True
    )[:2]
    assert page["next"]


def test_in_the_openapi_schema(client) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    paths = response.json()["paths"]
    assert "/api/v1/messages/{id}/" in paths
    listing = paths["/api/v1/messages/"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {
        "incident",
        "engineer",
        "status",
        "kind",
        "purpose",
        "created_after",
        "created_before",
        "sent_after",
        "sent_before",
        "limit",
        "offset",
    } <= names
    detail = paths["/api/v1/incidents/{id}/"]["get"]["responses"]["200"]["content"]
    schema_ref = detail["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    props = response.json()["components"]["schemas"][schema_ref]["properties"]
    assert props["messages_url"]["type"] == "string"
    assert timezone.now()  # the schema needs no data
