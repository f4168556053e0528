"""Pure parser tests: contract samples, edge cases and error messages (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from paging.inbound.alertmanager import alertmanager_parse, labels_fingerprint
from paging.inbound.body import BodyInvalid, json_object_decode
from paging.inbound.fields import InvalidPayload, parse_timestamp
from paging.inbound.pagerduty_events import pagerduty_event_parse
from paging.inbound.webhook import webhook_parse
from tests.paging.inbound.samples import (
    alertmanager_message,
    alertmanager_sample,
    am_alert,
    pagerduty_ack_resolve_samples,
    pagerduty_trigger_sample,
)


def errors_of(func, body) -> list[str]:
    with pytest.raises(InvalidPayload) as info:
        func(body)
    return info.value.errors


# --- Alertmanager ------------------------------------------------------------------


def test_alertmanager_sample_gives_one_event_per_alert():
    body = alertmanager_sample()
    events = alertmanager_parse(body)

    assert [e.action for e in events] == ["trigger", "resolve"]
    firing, resolved = events
    assert firing.alert_key == "7c1f2a9e4b3d5c60@2026-11-20T03:14:07.123456Z"
    assert resolved.alert_key == "0d8e6b1a2c3f4e59@2026-11-20T03:10:00.000000Z"
    assert firing.group_key == resolved.group_key == body["groupKey"]
    assert firing.title == "Payment API is not answering health checks"
    assert firing.severity == "critical"
    assert firing.source == "payments-1:8000"
    assert firing.occurred_at == datetime(2026, 11, 20, 3, 14, 7, 123456, tzinfo=UTC)
    assert resolved.occurred_at == datetime(2026, 11, 20, 3, 13, 30, tzinfo=UTC)
    assert firing.details["labels"]["instance"] == "payments-1:8000"
    assert {"href": body["alerts"][0]["generatorURL"], "text": "Source"} in firing.links
    assert firing.raw == body["alerts"][0]


def test_alertmanager_new_episode_is_a_new_alert_and_redelivery_the_same():
    first = alertmanager_parse(alertmanager_message([am_alert("aa11")]))
    again = alertmanager_parse(alertmanager_message([am_alert("aa11")]))
    later = alertmanager_parse(
        alertmanager_message([am_alert("aa11", starts_at="2026-11-21T00:00:00Z")])
    )
    assert first[0].alert_key == again[0].alert_key
    assert later[0].alert_key != first[0].alert_key


def test_alertmanager_ignores_unknown_and_grafana_fields():
    body = alertmanager_sample()
    body.update({"orgId": 1, "title": "[FIRING:1]", "state": "alerting", "message": "x"})
    body["alerts"][0].update(
        {
            "silenceURL": "http://grafana/silence",
            "dashboardURL": "http://grafana/d/abc",
            "panelURL": "http://grafana/d/abc?viewPanel=2",
            "values": {"B": 1.5, "C": 1},
            "valueString": "[ var='B' value=1.5 ]",
        }
    )
    events = alertmanager_parse(body)
    assert len(events) == 2
    texts = {link["text"] for link in events[0].links}
    assert {"Dashboard", "Panel", "Silence", "Source"} <= texts


@pytest.mark.parametrize(
    ("labels", "annotations", "title", "severity"),
    [
        ({"alertname": "A", "severity": "warning"}, {"description": "desc"}, "desc", "warning"),
        ({"alertname": "A", "severity": "WARN"}, {}, "A", "warning"),
        ({"alertname": "A", "severity": "page"}, {}, "A", "critical"),
        ({"alertname": "A", "severity": "P2"}, {}, "A", "error"),
        ({"alertname": "A", "severity": "informational"}, {}, "A", "info"),
        ({"alertname": "A", "priority": "low"}, {}, "A", "info"),
        # Absent or unknown severity: documented default "critical".
        ({"alertname": "A"}, {}, "A", "critical"),
        ({"alertname": "A", "severity": "banana"}, {}, "A", "critical"),
    ],
)
def test_alertmanager_title_and_severity(labels, annotations, title, severity):
    alert = am_alert("ff00")
    alert["labels"], alert["annotations"] = labels, annotations
    (event,) = alertmanager_parse(alertmanager_message([alert]))
    assert (event.title, event.severity) == (title, severity)


def test_alertmanager_missing_fingerprint_uses_a_stable_label_hash():
    alert = am_alert("ignored")
    del alert["fingerprint"]
    (event,) = alertmanager_parse(alertmanager_message([alert]))
    assert event.alert_key.startswith(labels_fingerprint(alert["labels"]) + "@")
    reordered = dict(reversed(list(alert["labels"].items())))
    assert labels_fingerprint(reordered) == labels_fingerprint(alert["labels"])


def test_alertmanager_null_annotations_and_no_starts_at():
    alert = am_alert("ab12")
    alert["annotations"] = None
    del alert["startsAt"]
    (event,) = alertmanager_parse(alertmanager_message([alert]))
    assert event.alert_key == "ab12"
    assert event.title == "Test"


def test_alertmanager_empty_alerts_is_valid():
    assert alertmanager_parse(alertmanager_message([])) == []


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda b: b.pop("groupKey"), "'groupKey' is missing or blank"),
        (lambda b: b.update(groupKey=5), "'groupKey' must be a string, not number"),
        (lambda b: b.pop("alerts"), "'alerts' is missing"),
        (lambda b: b.update(alerts={"a": 1}), "'alerts' must be an array, not object"),
        (lambda b: b.update(alerts=["x"]), "'alerts[0]' must be an object, not string"),
        (lambda b: b["alerts"][0].pop("status"), "'alerts[0].status' is missing or blank"),
        (
            lambda b: b["alerts"][1].update(status="pending"),
            "'alerts[1].status' must be 'firing' or 'resolved', not 'pending'",
        ),
        (lambda b: b["alerts"][0].pop("labels"), "'alerts[0].labels' is missing"),
        (
            lambda b: b["alerts"][0].update(labels=["a"]),
            "'alerts[0].labels' must be an object, not array",
        ),
        (
            lambda b: b["alerts"][0]["labels"].update(severity=3),
            "'alerts[0].labels.severity' must be a string, not number",
        ),
        (
            lambda b: b["alerts"][0].update(annotations="x"),
            "'alerts[0].annotations' must be an object, not string",
        ),
        (
            lambda b: b["alerts"][0].update(startsAt="yesterday"),
            "'alerts[0].startsAt' is not an RFC 3339 timestamp: 'yesterday'",
        ),
        (
            lambda b: b["alerts"][0].update(startsAt=True),
            "'alerts[0].startsAt' must be a string, not boolean",
        ),
        (
            lambda b: b["alerts"][0].update(fingerprint={}),
            "'alerts[0].fingerprint' must be a string, not object",
        ),
        (
            lambda b: b["alerts"][0].update(generatorURL=[]),
            "'alerts[0].generatorURL' must be a string, not array",
        ),
    ],
)
def test_alertmanager_errors_name_the_field(mutate, expected):
    body = alertmanager_sample()
    mutate(body)
    assert expected in errors_of(alertmanager_parse, body)


def test_alertmanager_reports_every_error_at_once():
    body = alertmanager_sample()
    body["alerts"][0]["status"] = 1
    body["alerts"][1]["labels"] = None
    errors = errors_of(alertmanager_parse, body)
    assert len(errors) == 2


def test_alertmanager_very_long_group_key_is_hashed_stably():
    body = alertmanager_message([am_alert("aa")], group_key="g" * 5000)
    (event,) = alertmanager_parse(body)
    assert len(event.group_key) <= 255
    assert alertmanager_parse(body)[0].group_key == event.group_key


# --- PagerDuty Events v2 -------------------------------------------------------------


def test_pagerduty_trigger_sample():
    body = pagerduty_trigger_sample()
    parsed = pagerduty_event_parse(body)
    event = parsed.event
    assert parsed.routing_key == "R0UT1NGKEY0000000000000000000001"
    assert (event.action, event.alert_key, event.group_key) == (
        "trigger",
        "payments/api-down",
        "payments/api-down",
    )
    assert event.title == "Payment API error rate above 5% for 5 minutes"
    assert event.severity == "critical"
    assert event.source == "payments-1.prod"
    assert event.occurred_at == datetime(2026, 11, 20, 3, 14, 7, tzinfo=UTC)
    assert event.details["custom_details"] == {"error_rate": "7.3%", "region": "eu-west-1"}
    assert event.details["component"] == "payment-api"
    assert {"href": "https://grafana.example.com/d/prs-overview", "text": "Dashboard"} in (
        event.links
    )


def test_pagerduty_ack_and_resolve_samples():
    ack, resolve = (pagerduty_event_parse(b).event for b in pagerduty_ack_resolve_samples())
    assert (ack.action, ack.alert_key) == ("acknowledge", "payments/api-down")
    assert (resolve.action, resolve.alert_key) == ("resolve", "payments/api-down")


def test_pagerduty_trigger_without_dedup_key_gets_a_generated_one():
    body = pagerduty_trigger_sample()
    del body["dedup_key"]
    first = pagerduty_event_parse(body).event.alert_key
    second = pagerduty_event_parse(body).event.alert_key
    assert len(first) == 32 and first != second


def test_pagerduty_ack_ignores_payload_garbage():
    body = {**pagerduty_ack_resolve_samples()[0], "payload": "whatever"}
    assert pagerduty_event_parse(body).event.action == "acknowledge"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda b: b.pop("routing_key"), "'routing_key' is missing or blank"),
        (
            lambda b: b.update(routing_key="short"),
            "Length of 'routing_key' is incorrect (should be 32 characters)",
        ),
        (lambda b: b.update(routing_key=123), "'routing_key' must be a string, not number"),
        (lambda b: b.pop("event_action"), "'event_action' is missing or blank"),
        (
            lambda b: b.update(event_action="snooze"),
            "'event_action' is invalid (must be one of: trigger, acknowledge, resolve)",
        ),
        (
            lambda b: b.update(dedup_key="k" * 256),
            "'dedup_key' is too long (256 characters, at most 255)",
        ),
        (lambda b: b.pop("payload"), "'payload' is missing"),
        (lambda b: b.update(payload=[1]), "'payload' must be an object, not array"),
        (lambda b: b["payload"].pop("summary"), "'payload.summary' is missing or blank"),
        (lambda b: b["payload"].update(summary="  "), "'payload.summary' is missing or blank"),
        (
            lambda b: b["payload"].update(summary="s" * 1025),
            "'payload.summary' is too long (1025 characters, at most 1024)",
        ),
        (lambda b: b["payload"].pop("source"), "'payload.source' is missing or blank"),
        (lambda b: b["payload"].pop("severity"), "'payload.severity' is missing or blank"),
        (
            lambda b: b["payload"].update(severity="CRITICAL"),
            "'payload.severity' is invalid (must be one of: critical, error, warning, info)",
        ),
        (
            lambda b: b["payload"].update(timestamp="not a time"),
            "'payload.timestamp' is not an RFC 3339 timestamp: 'not a time'",
        ),
        (lambda b: b.update(links={}), "'links' must be an array, not object"),
        (lambda b: b.update(links=[{"text": "x"}]), "'links[0].href' is missing or blank"),
        (lambda b: b.update(images=[{"src": 5}]), "'images[0].src' must be a string, not number"),
        (lambda b: b.update(client=["x"]), "'client' must be a string, not array"),
    ],
)
def test_pagerduty_errors(mutate, expected):
    body = pagerduty_trigger_sample()
    mutate(body)
    assert expected in errors_of(pagerduty_event_parse, body)


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_pagerduty_ack_resolve_need_a_dedup_key(action):
    body = {"routing_key": "R0UT1NGKEY0000000000000000000001", "event_action": action}
    (error,) = errors_of(pagerduty_event_parse, body)
    assert error.startswith("'dedup_key' is missing or blank")


def test_pagerduty_summary_of_exactly_1024_is_accepted():
    body = pagerduty_trigger_sample()
    body["payload"]["summary"] = "s" * 1024
    assert len(pagerduty_event_parse(body).event.title) == 1024


# --- generic webhook -----------------------------------------------------------------


def test_webhook_full_body():
    event = webhook_parse(
        {
            "title": "Disk full on db-1",
            "severity": "warning",
            "dedup_key": "db-1/disk",
            "status": "firing",
            "details": {"free": "0%"},
            "links": [{"href": "https://grafana/d/1", "text": "Graph"}],
            "source": "db-1",
            "timestamp": "2026-11-20T03:00:00+01:00",
        }
    )
    assert (event.action, event.alert_key, event.group_key) == ("trigger", "db-1/disk", "db-1/disk")
    assert (event.title, event.severity, event.source) == ("Disk full on db-1", "warning", "db-1")
    assert event.details == {"free": "0%"}
    assert event.links == [{"href": "https://grafana/d/1", "text": "Graph"}]
    assert event.occurred_at == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def test_webhook_defaults():
    event = webhook_parse({"title": "Something broke"})
    assert event.action == "trigger"
    assert event.severity == "critical"
    assert len(event.alert_key) == 32
    assert event.details == {} and event.links == []


def test_webhook_resolve_needs_only_the_key():
    event = webhook_parse({"status": "resolved", "dedup_key": "db-1/disk"})
    assert (event.action, event.alert_key) == ("resolve", "db-1/disk")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, "'title' is missing or blank"),
        ({"title": 1}, "'title' must be a string, not number"),
        ({"title": "t" * 1025}, "'title' is too long (1025 characters, at most 1024)"),
        ({"title": "x", "status": "open"}, "'status' must be 'firing' or 'resolved', not 'open'"),
        ({"status": "resolved"}, "'dedup_key' is missing or blank (required when status is"),
        ({"title": "x", "severity": "high"}, "'severity' must be one of critical, error"),
        ({"title": "x", "details": [1]}, "'details' must be an object, not array"),
        ({"title": "x", "links": "http://x"}, "'links' must be an array, not string"),
        ({"title": "x", "links": [{"href": None}]}, "'links[0].href' is missing or blank"),
        ({"title": "x", "dedup_key": {"a": 1}}, "'dedup_key' must be a string, not object"),
        ({"title": "x", "timestamp": 1700000000}, "'timestamp' must be a string, not number"),
    ],
)
def test_webhook_errors(body, expected):
    errors = errors_of(webhook_parse, body)
    assert any(e.startswith(expected) for e in errors), errors


# --- body decoding and timestamps --------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "the request body is empty"),
        (b"   ", "the request body is empty"),
        (b"{", "the body is not valid JSON"),
        (b"[1, 2]", "the body must be a JSON object, it is an array"),
        (b'"x"', "the body must be a JSON object, it is not an object"),
        (b"\xff\xfe{}", "the body is not UTF-8"),
        (b'{"a": NaN}', "the body is not valid JSON"),
        (b'{"a": Infinity}', "the body is not valid JSON"),
        (b'{"a": "x\\u0000y"}', "strings must not contain NUL"),
        (b'{"a\\u0000": 1}', "strings must not contain NUL"),
        (b'{"a": "\\ud800"}', "strings must not contain unpaired surrogates"),
        (b'{"a": 99999999999999999999}', "numbers must fit in 64 bits"),
        (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
        (b'{"a":' * 100 + b"1" + b"}" * 100, "nested more than 64 levels"),
    ],
)
def test_json_object_decode_rejects(data, expected):
    with pytest.raises(BodyInvalid) as info:
        json_object_decode(data)
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20T03:14:07.123456789Z", datetime(2026, 11, 20, 3, 14, 7, 123456, tzinfo=UTC)),
        ("2026-11-20T03:14:07Z", datetime(2026, 11, 20, 3, 14, 7, tzinfo=UTC)),
        ("2026-11-20T03:14:07.000+00:00", datetime(2026, 11, 20, 3, 14, 7, tzinfo=UTC)),
        ("2026-11-20T05:14:07+02:00", datetime(2026, 11, 20, 3, 14, 7, tzinfo=UTC)),
        ("2026-11-20T03:14:07", datetime(2026, 11, 20, 3, 14, 7, tzinfo=UTC)),
        ("2026-02-30T00:00:00Z", None),
        ("9999-12-31T23:59:59-23:00", None),
        ("tomorrow", None),
    ],
)
def test_parse_timestamp(text, expected):
    assert parse_timestamp(text) == expected
