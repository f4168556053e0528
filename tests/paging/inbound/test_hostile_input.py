"""Hostile input on every inbound endpoint: always a 4xx naming the problem, never a 5xx,
and nothing stored (incident, alert and timeline row counts unchanged)."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import RequestFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paging.inbound import views
from paging.inbound.integrations import integration_cache_clear
from paging.models import Integration
from tests.paging.inbound.conftest import integration_make, stored_counts
from tests.paging.inbound.samples import alertmanager_sample, pagerduty_trigger_sample

PD_URL = "/v2/enqueue"


def am_url(integration: Integration) -> str:
    return f"/integrations/alertmanager/{integration.token}/"


def webhook_url(integration: Integration) -> str:
    return f"/integrations/webhook/{integration.token}/"


def webhook_sample() -> dict[str, Any]:
    return {
        "title": "Disk full",
        "severity": "warning",
        "dedup_key": "db-1/disk",
        "status": "firing",
        "details": {"free": "0%", "nested": {"list": [1, 2]}},
        "links": [{"href": "https://grafana/d/1", "text": "Graph"}],
        "source": "db-1",
        "timestamp": "2026-11-20T03:00:00Z",
    }


@pytest.fixture(params=["alertmanager", "pagerduty", "webhook"])
def endpoint(request, am_integration, pd_integration, webhook_integration):
    """(url, a valid sample body) for each endpoint."""
    # These tests post hundreds of bodies to one integration: no rate limit here.
    Integration.objects.update(rate_limit_per_minute=0)
    integration_cache_clear()
    return {
        "alertmanager": (am_url(am_integration), alertmanager_sample()),
        "pagerduty": (PD_URL, pagerduty_trigger_sample()),
        "webhook": (webhook_url(webhook_integration), webhook_sample()),
    }[request.param]


def post_raw(client, url: str, data: bytes, content_type: str = "application/json"):
    return client.generic("POST", url, data, content_type=content_type)


def assert_rejected(response, status: int, before: tuple[int, int, int]) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["errors"] and all(isinstance(e, str) and e for e in body["errors"])
    assert stored_counts() == before
    return body


def test_valid_samples_are_accepted(client, endpoint):
    url, body = endpoint
    response = post_raw(client, url, json.dumps(body).encode())
    assert response.status_code == 202, response.content
    assert stored_counts()[0] == 1


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the request body is empty"),
        (b"{not json", "the body is not valid JSON"),
        (b"[]", "the body must be a JSON object, it is an array"),
        (b'[{"title": "x"}]', "the body must be a JSON object, it is an array"),
        (b"null", "the body must be a JSON object"),
        (b"42", "the body must be a JSON object"),
        (b"\xc3\x28\xa0\xa1 not utf-8", "the body is not UTF-8"),
        (b'{"title": "\xff"}', "the body is not UTF-8"),
        (b'{"title": NaN}', "the body is not valid JSON"),
        (b'{"title": "x", "details": {"a": 1e999}}', "numbers must be finite"),
        (b'{"title": "x", "details": [-1e400]}', "numbers must be finite"),
        (b'{"title": "a\\u0000b"}', "NUL"),
        (b'{"title": "\\udfff"}', "unpaired surrogates"),
        (b"[" * 50000 + b"]" * 50000, "nested too deeply"),
        (b'{"a":' * 70 + b"1" + b"}" * 70, "nested more than 64 levels"),
    ],
)
def test_bodies_that_are_not_a_json_object(client, endpoint, data, reason):
    url, _ = endpoint
    before = stored_counts()
    body = assert_rejected(post_raw(client, url, data), 400, before)
    assert any(reason in e for e in body["errors"]), body


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete", "head", "options"])
def test_only_post(client, endpoint, method):
    url, _ = endpoint
    response = getattr(client, method)(url)
    assert response.status_code == 405
    assert response["Allow"] == "POST"


@pytest.mark.parametrize("token", ["nope", "x" * 1000, "ümlaut", "0" * 32])
def test_unknown_token_is_404(client, am_integration, webhook_integration, token):
    for prefix in ("alertmanager", "webhook"):
        before = stored_counts()
        body = assert_rejected(
            client.post(f"/integrations/{prefix}/{token}/", {"title": "x"}, "application/json"),
            404,
            before,
        )
        assert body["error"] == "Unknown integration"


def test_token_of_another_kind_is_404(client, am_integration, webhook_integration):
    before = stored_counts()
    assert_rejected(
        post_raw(client, am_url(webhook_integration), json.dumps(alertmanager_sample()).encode()),
        404,
        before,
    )
    assert_rejected(
        post_raw(client, webhook_url(am_integration), json.dumps(webhook_sample()).encode()),
        404,
        before,
    )


def test_pagerduty_unknown_routing_key_is_400_as_pagerduty_does(client, am_integration, db):
    # A well-formed key of no integration, and the key of an Alertmanager integration.
    for key in ("A" * 32, am_integration.token):
        body = pagerduty_trigger_sample()
        body["routing_key"] = key
        before = stored_counts()
        response = post_raw(client, PD_URL, json.dumps(body).encode())
        assert response.status_code == 400
        assert response.json() == {
            "status": "invalid event",
            "message": "Event object is invalid",
            "errors": ["Invalid routing key"],
        }
        assert stored_counts() == before


def test_pagerduty_invalid_event_shape(client, pd_integration):
    body = pagerduty_trigger_sample()
    body["payload"]["severity"] = "fatal"
    del body["payload"]["source"]
    response = post_raw(client, PD_URL, json.dumps(body).encode())
    assert response.status_code == 400
    assert response.json() == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": [
            "'payload.source' is missing or blank",
            "'payload.severity' is invalid (must be one of: critical, error, warning, info)",
        ],
    }


def test_pagerduty_bad_json_uses_the_pagerduty_error_shape(client, pd_integration):
    response = post_raw(client, PD_URL, b"{")
    assert response.status_code == 400
    assert response.json()["status"] == "invalid event"


# --- wrong types at every level ------------------------------------------------------------

WRONG_VALUES: list[Any] = [None, 0, -1.5, True, "", "x", [], [{}], {}, {"a": [None]}]


def paths(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every path (tuple of keys/indexes) inside a JSON value, parents before children."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield (*prefix, index)
            yield from paths(child, (*prefix, index))


def replaced(body: Any, path: tuple, new: Any) -> Any:
    body = copy.deepcopy(body)
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return body


def test_wrong_types_at_every_level(client, endpoint):
    url, sample = endpoint
    statuses = set()
    for path in paths(sample):
        for wrong in WRONG_VALUES:
            before = stored_counts()
            response = post_raw(client, url, json.dumps(replaced(sample, path, wrong)).encode())
            statuses.add(response.status_code)
            assert response.status_code in (202, 400), (path, wrong, response.content[:300])
            if response.status_code == 400:
                assert response.json()["errors"], (path, wrong)
                assert stored_counts() == before, (path, wrong)
    assert statuses == {202, 400}


@pytest.mark.parametrize("field", ["groupKey", "alerts"])
def test_alertmanager_missing_top_level_field_is_named(client, am_integration, field):
    body = alertmanager_sample()
    del body[field]
    before = stored_counts()
    errors = assert_rejected(
        post_raw(client, am_url(am_integration), json.dumps(body).encode()), 400, before
    )["errors"]
    assert any(f"'{field}'" in e for e in errors)


def test_alertmanager_one_bad_alert_rejects_the_whole_message(client, am_integration):
    body = alertmanager_sample()
    body["alerts"][1]["labels"] = "oops"
    before = stored_counts()
    errors = assert_rejected(
        post_raw(client, am_url(am_integration), json.dumps(body).encode()), 400, before
    )["errors"]
    assert errors == ["'alerts[1].labels' must be an object, not string"]


def test_values_too_long_for_columns_are_400(client, endpoint):
    url, sample = endpoint
    if "dedup_key" not in sample:
        sample = replaced(sample, ("alerts", 0, "fingerprint"), "f" * 300)
    else:
        sample["dedup_key"] = "k" * 300
    before = stored_counts()
    assert_rejected(post_raw(client, url, json.dumps(sample).encode()), 400, before)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "groupKey",
                "alerts",
                "routing_key",
                "event_action",
                "dedup_key",
                "payload",
                "title",
                "status",
                "severity",
                "details",
                "links",
                "version",
                "other",
            ]
        ),
        json_values,
    )
)
def test_random_json_objects_never_5xx(
    client, am_integration, pd_integration, webhook_integration, body
):
    data = json.dumps(body).encode()
    for url in (am_url(am_integration), PD_URL, webhook_url(webhook_integration)):
        before = stored_counts()
        response = post_raw(client, url, data)
        assert response.status_code in (202, 400), (url, body, response.content[:300])
        if response.status_code == 400:
            assert stored_counts() == before


# --- body size -----------------------------------------------------------------------------


def padded(body: dict[str, Any], size: int) -> bytes:
    """``body`` as JSON padded with whitespace to exactly ``size`` bytes."""
    data = json.dumps(body).encode()
    assert len(data) <= size
    return data + b" " * (size - len(data))


def test_body_over_the_limit_is_413(client, endpoint, settings):
    settings.INBOUND_MAX_BODY_BYTES = 2048
    url, sample = endpoint
    before = stored_counts()
    body = assert_rejected(post_raw(client, url, padded(sample, 2049)), 413, before)
    assert "2048" in body["errors"][0]
    assert post_raw(client, url, padded(sample, 2048)).status_code == 202


def test_default_limit_is_512_kib(client, endpoint):
    url, sample = endpoint
    before = stored_counts()
    assert_rejected(post_raw(client, url, padded(sample, 512 * 1024 + 1)), 413, before)
    assert post_raw(client, url, padded(sample, 512 * 1024)).status_code == 202


def test_django_upload_limit_does_not_interfere(client, endpoint, settings):
    # Django would answer 400 (RequestDataTooBig) past DATA_UPLOAD_MAX_MEMORY_SIZE; the
    # inbound endpoints apply their own limit instead.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.INBOUND_MAX_BODY_BYTES = 4096
    url, sample = endpoint
    assert post_raw(client, url, padded(sample, 3000)).status_code == 202
    before = stored_counts()
    assert_rejected(post_raw(client, url, padded(sample, 5000)), 413, before)


def test_huge_declared_length_is_refused_before_reading(rf: RequestFactory, am_integration):
    request = rf.post(am_url(am_integration), b"{}", content_type="application/json")
    request.META["CONTENT_LENGTH"] = str(10**12)
    before = stored_counts()
    response = views.alertmanager_receive(request, token=am_integration.token)
    assert response.status_code == 413
    assert stored_counts() == before


def chunked_request(rf: RequestFactory, url: str, data: bytes):
    """A request as gunicorn hands over a chunked upload: no Content-Length, input
    terminated by the server (so the actual bytes read are what counts)."""
    request = rf.post(url, b"", content_type="application/json")
    request.META.pop("CONTENT_LENGTH", None)
    request.environ["wsgi.input_terminated"] = True
    request.environ["wsgi.input"] = io.BytesIO(data)
    return request


def test_chunked_body_limit_counts_bytes_actually_read(rf, am_integration, settings):
    settings.INBOUND_MAX_BODY_BYTES = 4096
    url = am_url(am_integration)
    before = stored_counts()
    big = chunked_request(rf, url, padded(alertmanager_sample(), 4097))
    assert views.alertmanager_receive(big, token=am_integration.token).status_code == 413
    assert stored_counts() == before
    small = chunked_request(rf, url, padded(alertmanager_sample(), 4096))
    assert views.alertmanager_receive(small, token=am_integration.token).status_code == 202


def test_unreadable_content_length_is_400(rf, webhook_integration):
    request = rf.post(webhook_url(webhook_integration), b"{}", content_type="application/json")
    request.META["CONTENT_LENGTH"] = "lots"
    before = stored_counts()
    response = views.webhook_receive(request, token=webhook_integration.token)
    assert response.status_code == 400
    assert "Content-Length" in json.loads(response.content)["errors"][0]
    assert stored_counts() == before


def test_form_encoded_body_is_400_not_500(client, webhook_integration):
    response = client.post(webhook_url(webhook_integration), {"title": "x"})
    assert response.status_code == 400


def test_integration_of_another_service_is_not_confused(client, webhook_integration):
    other = integration_make(Integration.Kind.WEBHOOK)
    response = post_raw(client, webhook_url(other), json.dumps(webhook_sample()).encode())
    assert response.status_code == 202
    assert other.service.incidents.count() == 1
    assert webhook_integration.service.incidents.count() == 0
