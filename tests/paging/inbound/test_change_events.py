"""PagerDuty Change Events: recorded on the service, listed, shown on later incidents."""

from __future__ import annotations

import datetime as dt
import json
import warnings

import pytest
import time_machine

from paging.models import ChangeEvent, Incident, Integration
from tests.paging.inbound.conftest import integration_make
from tests.paging.inbound.samples import change_event_sample

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # pdpyras says it is deprecated
    import pdpyras

ROUTING_KEY = "R0UT1NGKEY0000000000000000000001"
CHANGED_AT = dt.datetime(2026, 11, 29, 7, 42, 58, 315000, tzinfo=dt.UTC)  # the sample's


def enqueue(client, body: dict):
    return client.post("/v2/change/enqueue", json.dumps(body), content_type="application/json")


def trigger(client, key: str) -> Incident:
    body = {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {"summary": "5xx above 5%", "source": "lb", "severity": "critical"},
    }
    response = client.post("/v2/enqueue", json.dumps(body), content_type="application/json")
    assert response.status_code == 202, response.content
    return Incident.objects.get(dedup_key=key)


def test_contract_sample_is_recorded_on_the_service(client, pd_integration):
    with time_machine.travel(CHANGED_AT + dt.timedelta(seconds=2), tick=False):
        response = enqueue(client, change_event_sample())
    assert response.status_code == 202
    assert response.json() == {"status": "success", "message": "Change event processed"}
    change = ChangeEvent.objects.get()
    assert change.service_id == pd_integration.service_id
    assert change.summary == "Deploy payments-api v2026.11.29-1 (canary 10%)"
    assert change.source == "ci-pipeline-payments"
    assert change.occurred_at == CHANGED_AT
    assert change.custom_details["build_number"] == "1842"
    assert change.links == [
        {"href": "https://ci.example.com/payments-api/builds/1842", "text": "Build 1842"}
    ]
    assert Incident.objects.count() == 0  # a change pages nobody


def test_incident_opened_within_the_window_shows_the_change(client, admin_client, pd_integration):
    with time_machine.travel(CHANGED_AT + dt.timedelta(seconds=2), tick=False):
        enqueue(client, change_event_sample())
    with time_machine.travel(CHANGED_AT + dt.timedelta(minutes=20), tick=False):
        soon = trigger(client, "soon")
    with time_machine.travel(CHANGED_AT + dt.timedelta(minutes=61), tick=False):
        late = trigger(client, "late")
    changes = admin_client.get(f"/api/v1/incidents/{soon.pk}/").json()["recent_changes"]
    assert [c["summary"] for c in changes] == ["Deploy payments-api v2026.11.29-1 (canary 10%)"]
    assert admin_client.get(f"/api/v1/incidents/{late.pk}/").json()["recent_changes"] == []

    page = admin_client.get(f"/admin/paging/incident/{soon.pk}/change/")
    assert b"Deploy payments-api v2026.11.29-1 (canary 10%)" in page.content
    assert b"Changes in the 60 min before it opened (1)" in page.content
    late_page = admin_client.get(f"/admin/paging/incident/{late.pk}/change/")
    assert b"No change events recorded for payments" in late_page.content


def test_window_is_a_setting(client, admin_client, pd_integration, settings):
    settings.CHANGE_EVENTS_WINDOW_MINUTES = 90
    with time_machine.travel(CHANGED_AT + dt.timedelta(seconds=2), tick=False):
        enqueue(client, change_event_sample())
    with time_machine.travel(CHANGED_AT + dt.timedelta(minutes=80), tick=False):
        incident = trigger(client, "k")
    assert len(admin_client.get(f"/api/v1/incidents/{incident.pk}/").json()["recent_changes"]) == 1


def test_change_events_api_lists_and_filters(client, admin_client, pd_integration):
    other = integration_make(Integration.Kind.PAGERDUTY, token="OTHERKEY" + "0" * 23 + "2")
    enqueue(client, change_event_sample())
    enqueue(client, {**change_event_sample(), "routing_key": other.token})
    everything = admin_client.get("/api/v1/change-events/").json()
    assert everything["count"] == 2
    mine = admin_client.get(f"/api/v1/change-events/?service={pd_integration.service_id}").json()
    assert [c["service"] for c in mine["results"]] == [pd_integration.service_id]
    bad = admin_client.get("/api/v1/change-events/?occurred_after=last+tuesday")
    assert bad.status_code == 400 and "occurred_after" in bad.json()


def test_timestamp_in_the_future_is_taken_as_received(client, pd_integration):
    body = change_event_sample()
    body["payload"]["timestamp"] = "2099-01-01T00:00:00Z"
    with time_machine.travel(CHANGED_AT, tick=False):
        assert enqueue(client, body).status_code == 202
    assert ChangeEvent.objects.get().occurred_at == CHANGED_AT


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"payload": {"source": "ci"}}, "'payload.summary' is missing or blank"),
        ({"payload": None}, "'payload' is missing"),
        (
            {"payload": {"summary": "x", "timestamp": "soon"}},
            "'payload.timestamp' is not an RFC 3339 timestamp: 'soon'",
        ),
        (
            {"payload": {"summary": "x", "custom_details": []}},
            "'payload.custom_details' must be an object, not array",
        ),
        ({"links": [{"text": "no href"}]}, "'links[0].href' is missing or blank"),
        (
            {"routing_key": "short"},
            "Length of 'routing_key' is incorrect (should be 32 characters)",
        ),
    ],
)
def test_bad_body_is_400_naming_the_field(client, pd_integration, change, error):
    response = enqueue(client, {**change_event_sample(), **change})
    assert response.status_code == 400
    assert response.json()["status"] == "invalid event"
    assert error in response.json()["errors"]
    assert ChangeEvent.objects.count() == 0


def test_unknown_routing_key_is_400_as_pagerduty_answers(client, db):
    response = enqueue(client, change_event_sample())
    assert response.status_code == 400
    assert response.json()["errors"] == ["Invalid routing key"]


def test_real_pdpyras_change_events_client(live_server):
    integration = integration_make(Integration.Kind.PAGERDUTY)
    session = pdpyras.ChangeEventsAPISession(integration.token)
    session.url = live_server.url
    session.headers["Connection"] = "close"
    session.retry[500] = 0
    session.submit(
        "Deploy api v42",
        source="ci",
        custom_details={"commit": "abc123"},
        links=[{"href": "https://ci.example.com/42", "text": "Build 42"}],
    )
    change = ChangeEvent.objects.get()
    assert (change.summary, change.source, change.custom_details) == (
        "Deploy api v42",
        "ci",
        {"commit": "abc123"},
    )
