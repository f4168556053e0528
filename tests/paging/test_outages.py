"""Outages a person should not have to handle: the broker gone, the database gone, a token
deleted or rotated in another process.

The broker is a real Redis client against a closed port (or a socket that never answers);
the database errors come from the driver (a closed PostgreSQL port) or are raised at the
query edge by ``connection.execute_wrapper`` (SQLite and PostgreSQL); the other process'
stale cache is this process' cache filled before the change is written behind its back.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from django.db import OperationalError, connection
from rest_framework.test import APIClient

from oncall import broker  # noqa: F401 - imported here, not inside a timed request
from oncall.celery import app
from paging import kick
from paging.engine import tick
from paging.inbound import integrations
from paging.inbound.integrations import integration_for_token
from paging.models import Alert, Incident, Integration, Message
from tests.factories import UserFactory
from tests.paging.factories import (
    IncidentFactory,
    IntegrationFactory,
    ServiceFactory,
    policy_with_steps,
)
from tests.support import engineer_with_ladder

WEBHOOK = {"title": "DB down", "dedup_key": "db-down"}


@pytest.fixture(autouse=True)
def empty_integration_cache() -> Iterator[None]:
    integrations.integration_cache_clear()
    yield
    integrations.integration_cache_clear()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _reset_producers() -> None:
    # Forget (do not close: kombu's global producer registry keeps the pool of each URL,
    # and the next test publishing to the real broker gets that one back).
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker_at(settings, monkeypatch):
    """Point the kicks at ``redis://127.0.0.1:<port>`` (celery mode) for one test."""
    saved = app.conf.broker_url

    def use(port: int) -> None:
        settings.EMBEDDED_MODE = False
        url = f"redis://127.0.0.1:{port}/0"
        # Celery reads the environment variable before its configuration.
        monkeypatch.setenv("CELERY_BROKER_URL", url)
        settings.CELERY_BROKER_URL = app.conf.broker_url = url
        _reset_producers()
        assert app.connection_for_write().port == port

    yield use
    monkeypatch.undo()
    app.conf.broker_url = saved
    _reset_producers()


@pytest.fixture
def silent_broker() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung broker host)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    for sock in [*accepted, server]:
        sock.close()


def paged_incident_setup() -> Integration:
    alice = engineer_with_ladder("Alice", "+14155550001")
    service = ServiceFactory(escalation_policy=policy_with_steps([alice]))
    return IntegrationFactory(service=service, kind="webhook")


def post_webhook(client, token: str, body: dict | None = None, **extra):
    return client.post(
        f"/integrations/webhook/{token}/",
        json.dumps(body or WEBHOOK),
        content_type="application/json",
        **extra,
    )


# --- the kick after commit ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_broker_down_alert_is_accepted_and_the_next_tick_pages(client, broker_at, caplog) -> None:
    integration = paged_incident_setup()
    broker_at(free_port())  # nothing listens there: connection refused
    failures = kick.kick_failures()
    started = time.monotonic()
    response = post_webhook(client, integration.token)
    took = time.monotonic() - started
    assert response.status_code == 202, response.content
    assert took < 2, f"the kick held the request {took:.2f} s"
    assert kick.kick_failures() == failures + 1
    assert "engine kick not published" in caplog.text
    (incident,) = Incident.objects.all()
    assert not Message.objects.exists()  # nobody was woken up...
    tick()  # ...the next beat tick finds the work in the database
    sent = Message.objects.filter(incident=incident, status="sent")
    assert list(sent.values_list("destination", "kind")) == [("+14155550001", "sms")]


@pytest.mark.django_db(transaction=True)
def test_broker_down_api_action_answers_200(broker_at) -> None:
    integration = paged_incident_setup()
    api = APIClient()
    api.force_authenticate(UserFactory(is_staff=True))
    broker_at(free_port())
    response = post_webhook(api, integration.token)
    assert response.status_code == 202
    incident = Incident.objects.get()
    failures = kick.kick_failures()
    response = api.post(f"/api/v1/incidents/{incident.pk}/escalate/")
    assert response.status_code == 200, response.content
    assert kick.kick_failures() == failures + 1


@pytest.mark.django_db(transaction=True)
def test_hung_broker_holds_a_request_a_few_seconds_at_most(
    client, broker_at, silent_broker
) -> None:
    integration = paged_incident_setup()
    broker_at(silent_broker)
    failures = kick.kick_failures()
    started = time.monotonic()
    response = post_webhook(client, integration.token)
    took = time.monotonic() - started
    assert response.status_code == 202
    assert kick.kick_failures() == failures + 1
    # Two attempts (one retry), each bounded by the 2 s socket timeout.
    assert took < 6, f"the kick held the request {took:.2f} s"


# --- the database unavailable -----------------------------------------------------------


class DatabaseGone:
    """``connection.execute_wrapper``: every query fails as when the server went away."""

    def __init__(self) -> None:
        self.refused = 0

    def __call__(self, execute, sql, params, many, context):
        self.refused += 1
        raise OperationalError("server closed the connection unexpectedly")


@pytest.fixture
def database_gone() -> Iterator[DatabaseGone]:
    gone = DatabaseGone()
    with connection.execute_wrapper(gone):
        yield gone


def assert_503(response, shape: str = "inbound") -> None:
    assert response.status_code == 503, (response.status_code, response.content[:300])
    assert response["Retry-After"] == "5"
    if shape == "html":
        assert b"Temporarily unavailable" in response.content
        return
    body = response.json()
    if shape == "pagerduty":
        assert body["status"] == "error"
    else:
        assert body["error"] == "Temporarily unavailable"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "kind", "body"),
    [
        ("/integrations/webhook/{token}/", "webhook", WEBHOOK),
        (
            "/integrations/alertmanager/{token}/",
            "alertmanager",
            {"version": "4", "status": "firing", "groupKey": "g", "alerts": [
                {"status": "firing", "labels": {"alertname": "x"}, "fingerprint": "f1"}]},
        ),
    ],
)  # fmt: skip
def test_token_lookup_and_ingest_without_database_answer_503(client, path, kind, body) -> None:
    integration = IntegrationFactory(kind=kind)
    url = path.format(token=integration.token)
    post = lambda: client.post(url, json.dumps(body), content_type="application/json")  # noqa: E731
    with connection.execute_wrapper(DatabaseGone()) as _:
        assert_503(post())  # the token lookup (nothing cached)
    integration_for_token(integration.token, kind)  # cached: now the ingest fails
    gone = DatabaseGone()
    with connection.execute_wrapper(gone):
        assert_503(post())
    assert gone.refused >= 1
    assert post().status_code == 202  # the database is back


@pytest.mark.django_db
def test_pagerduty_events_without_database_answer_503_in_its_shape(client) -> None:
    integration = IntegrationFactory(kind="pagerduty")
    event = {
        "routing_key": integration.token,
        "event_action": "trigger",
        "payload": {"summary": "DB down", "source": "db1", "severity": "critical"},
    }
    post = lambda: client.post("/v2/enqueue", json.dumps(event), content_type="application/json")  # noqa: E731
    with connection.execute_wrapper(DatabaseGone()):
        assert_503(post(), "pagerduty")
    integration_for_token(integration.token, "pagerduty")
    with connection.execute_wrapper(DatabaseGone()):
        assert_503(post(), "pagerduty")
    assert post().status_code == 202


@pytest.mark.django_db
def test_api_without_database_answers_503_json(client) -> None:
    api = APIClient()
    api.force_authenticate(UserFactory(is_staff=True))
    incident_id = IncidentFactory().pk
    with connection.execute_wrapper(DatabaseGone()):
        assert_503(api.get("/api/v1/incidents/"))
        assert_503(api.post(f"/api/v1/incidents/{incident_id}/escalate/"))
        assert_503(api.post(f"/api/v1/incidents/{incident_id}/acknowledge/"))
    assert api.get("/api/v1/incidents/").status_code == 200


@pytest.mark.django_db
def test_admin_without_database_answers_503_html(admin_client) -> None:
    with connection.execute_wrapper(DatabaseGone()):
        response = admin_client.get("/admin/", HTTP_ACCEPT="text/html")
    assert_503(response, "html")
    assert admin_client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_other_errors_stay_500(client, monkeypatch) -> None:
    integration = IntegrationFactory(kind="webhook")

    def broken(**_):
        raise RuntimeError("a bug, not an outage")

    monkeypatch.setattr("paging.inbound.views.alerts_ingest", broken)
    client.raise_request_exception = False
    assert post_webhook(client, integration.token).status_code == 500


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgresql_really_unreachable_answers_503_then_recovers(client, monkeypatch) -> None:
    integration = paged_incident_setup()
    api = APIClient()
    api.force_authenticate(UserFactory(is_staff=True))
    integration_for_token(integration.token, "webhook")  # cached, as in a warm process
    connection.close()
    with monkeypatch.context() as patch:
        patch.setitem(connection.settings_dict, "PORT", str(free_port()))  # closed port
        assert_503(post_webhook(client, integration.token))
        integrations.integration_cache_clear()
        assert_503(post_webhook(client, integration.token))  # the token lookup itself
        assert_503(api.get("/api/v1/incidents/"))
        connection.close()
    assert post_webhook(client, integration.token).status_code == 202
    assert Alert.objects.count() == 1


# --- a token deleted or rotated by another process -----------------------------------


@pytest.mark.django_db(transaction=True)
def test_token_deleted_elsewhere_is_404_at_once(client) -> None:
    integration = IntegrationFactory(kind="webhook")
    assert integration_for_token(integration.token, "webhook") is not None  # cached here
    with connection.cursor() as cursor:  # another process deletes it: no signal here
        cursor.execute("DELETE FROM paging_integration WHERE id = %s", [integration.pk])
    response = post_webhook(client, integration.token)
    assert response.status_code == 404, response.content
    assert response.json()["error"] == "Unknown integration"
    assert integrations._cache == {}  # forgotten: the next request asks the database
    assert not Alert.objects.exists() and not Incident.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_token_rotated_elsewhere_is_404_and_the_new_one_works(client) -> None:
    integration = IntegrationFactory(kind="webhook")
    old = integration.token
    assert integration_for_token(old, "webhook") is not None
    Integration.objects.filter(pk=integration.pk).update(token="rotated-token-0001")  # no signal
    assert post_webhook(client, old).status_code == 404
    assert post_webhook(client, "rotated-token-0001").status_code == 202
    assert Alert.objects.get().integration_id == integration.pk


@pytest.mark.django_db(transaction=True)
def test_pagerduty_key_deleted_elsewhere_is_invalid_routing_key(client) -> None:
    integration = IntegrationFactory(kind="pagerduty")
    assert integration_for_token(integration.token, "pagerduty") is not None
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM paging_integration WHERE id = %s", [integration.pk])
    event = {
        "routing_key": integration.token,
        "event_action": "trigger",
        "payload": {"summary": "x", "source": "y", "severity": "info"},
    }
    response = client.post("/v2/enqueue", json.dumps(event), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"] == ["Invalid routing key"]
