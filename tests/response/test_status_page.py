"""The public status page (/status/, /status/json, /status/feed.atom): no login, group
states from open public incidents (every priority/urgency combination), 90 days of
history with public updates, and nothing internal on any of the three."""

from __future__ import annotations

import json
from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.test import Client

from paging.incident_actions import incident_add_note, incident_resolve, incident_set_priority
from paging.models import Incident
from paging.response.services import (
    incident_publish,
    incident_role_assign,
    status_group_save,
    status_update_post,
)
from paging.response.status_page import impact_of
from tests.paging.factories import ServiceFactory
from tests.response.conftest import (
    PRIYA_EMAIL,
    PRIYA_PHONE,
    SECRET_LABEL,
    SECRET_NOTE,
    SECRET_TITLE,
    Cast,
    fire,
)

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


def _json() -> dict:
    answer = Client().get("/status/json")
    assert answer.status_code == 200
    return answer.json()


def _group_states() -> dict[str, str]:
    return {g["name"]: g["status"] for g in _json()["groups"]}


@pytest.fixture
def groups(cast: Cast) -> dict[str, object]:
    search = ServiceFactory(name="search-internal")
    status_group_save(group=None, name="Checkout", position=1, services=[cast.service])
    status_group_save(group=None, name="Search", position=2, services=[search])
    return {"payments": cast.service, "search": search}


@pytest.mark.parametrize(
    ("priority", "urgency", "state"),
    [
        (1, "high", "major_outage"),
        (1, "low", "major_outage"),
        (2, "high", "partial_outage"),
        (2, "low", "partial_outage"),
        (3, "high", "degraded"),
        (4, "high", "degraded"),
        (5, "low", "degraded"),
        (None, "high", "partial_outage"),
        (None, "low", "degraded"),
    ],
)
def test_each_priority_and_urgency_maps_to_a_state(
    cast: Cast, groups, priority, urgency, state
) -> None:
    assert impact_of(priority=priority, urgency=urgency) == state
    Incident.objects.filter(pk=cast.incident.pk).update(priority=priority, urgency=urgency)
    assert _group_states() == {"Checkout": "operational", "Search": "operational"}
    incident_publish(incident_id=cast.incident.pk, public_title="Payments failing")
    assert _group_states() == {"Checkout": state, "Search": "operational"}
    assert _json()["status"] == state
    page = Client().get("/status/").content.decode()
    assert f'data-state="{state}"' in page


def test_worst_open_public_incident_wins_and_resolved_ones_are_history(
    cast: Cast, groups, clock
) -> None:
    clock.shift(timedelta(minutes=1))  # the newer one: listed first
    low = fire(cast.service, key="slow", title="slow")
    Incident.objects.filter(pk=low.pk).update(urgency="low")
    incident_publish(incident_id=low.pk, public_title="Checkout is slow")
    assert _group_states()["Checkout"] == "degraded"
    incident_set_priority(incident_id=cast.incident.pk, priority=1)
    assert _group_states()["Checkout"] == "degraded"  # P1 but not public: not counted
    incident_publish(incident_id=cast.incident.pk, public_title="Payments down")
    assert _group_states()["Checkout"] == "major_outage"
    clock.shift(timedelta(hours=2))
    incident_resolve(incident_id=cast.incident.pk)
    assert _group_states()["Checkout"] == "degraded"
    incident_resolve(incident_id=low.pk)
    data = _json()
    assert {g["name"]: g["status"] for g in data["groups"]} == {
        "Checkout": "operational",
        "Search": "operational",
    }
    assert data["ongoing"] == []
    assert [i["title"] for i in data["history"]] == ["Checkout is slow", "Payments down"]
    checkout = data["groups"][0]
    assert len(checkout["history"]) == 90
    assert checkout["history"][-1] == {"date": "2026-03-02", "status": "major_outage"}
    assert {d["status"] for d in checkout["history"][:-1]} == {"operational"}


def test_history_keeps_90_days(cast: Cast, groups, clock) -> None:
    incident_publish(incident_id=cast.incident.pk, public_title="Old outage")
    incident_resolve(incident_id=cast.incident.pk)
    clock.shift(timedelta(days=89))
    assert [i["title"] for i in _json()["history"]] == ["Old outage"]
    clock.shift(timedelta(days=2))
    assert _json()["history"] == []


def test_public_updates_only_from_when_it_was_public(cast: Cast, groups) -> None:
    status_update_post(incident_id=cast.incident.pk, state="investigating", text=SECRET_NOTE)
    incident_publish(incident_id=cast.incident.pk, public_title="Payments failing")
    status_update_post(
        incident_id=cast.incident.pk, state="identified", text="A database ran out of memory"
    )
    ongoing = _json()["ongoing"]
    assert [(u["state"], u["text"]) for u in ongoing[0]["updates"]] == [
        ("identified", "A database ran out of memory")
    ]
    assert ongoing[0]["groups"] == ["Checkout"]


def test_nothing_internal_reaches_the_page_json_or_feed(cast: Cast, groups) -> None:
    # Secrets in every internal field: title, alert labels, a note, people and their
    # contact data, the service's (internal) name, an internal update.
    incident_add_note(incident_id=cast.incident.pk, text=SECRET_NOTE)
    incident_role_assign(incident_id=cast.incident.pk, role="commander", engineer_id=cast.priya.pk)
    status_update_post(
        incident_id=cast.incident.pk, state="investigating", text=f"internal: {SECRET_LABEL}"
    )
    incident_publish(incident_id=cast.incident.pk, public_title="Card checkout is failing")
    status_update_post(
        incident_id=cast.incident.pk, state="monitoring", text="A fix is out; watching"
    )
    client = Client()
    html = client.get("/status/")
    feed = client.get("/status/feed.atom")
    data = client.get("/status/json")
    assert html.status_code == feed.status_code == data.status_code == 200
    assert feed["Content-Type"].startswith("application/atom+xml")
    secrets = [
        SECRET_TITLE,
        "db-primary-7f3a",
        SECRET_LABEL,
        SECRET_NOTE,
        "ACME",
        "Priya",
        "Alice",
        "Lena",
        PRIYA_EMAIL,
        PRIYA_PHONE,
        "+14155550001",
        "payments",  # the service's internal name (groups have public names)
        "search-internal",
        f"/admin/paging/incident/{cast.incident.pk}",
    ]
    for name, answer in (("html", html), ("json", data), ("atom", feed)):
        text = answer.content.decode()
        assert "Card checkout is failing" in text, name
        assert "A fix is out; watching" in text, name
        leaked = [s for s in secrets if s.lower() in text.lower()]
        assert leaked == [], (name, leaked)


def test_atom_feed_has_one_entry_per_public_incident(cast: Cast, groups) -> None:
    incident_publish(incident_id=cast.incident.pk, public_title="Payments failing")
    status_update_post(incident_id=cast.incident.pk, state="identified", text="Cause found")
    root = ElementTree.fromstring(Client().get("/status/feed.atom").content)  # noqa: S314 - our own feed
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 1
    assert entries[0].find(f"{ATOM}title").text == "Payments failing (Partial outage, ongoing)"
    assert "Identified: Cause found" in entries[0].find(f"{ATOM}summary").text


def test_the_page_needs_no_login_and_is_cacheable_briefly(cast: Cast, groups) -> None:
    answer = Client().get("/status/")
    assert answer.status_code == 200
    assert "All systems operational" in answer.content.decode()
    assert "public" in answer["Cache-Control"] and "max-age=30" in answer["Cache-Control"]
    assert Client().post("/status/").status_code == 405
    assert json.loads(Client().get("/status/json").content)["status"] == "operational"
