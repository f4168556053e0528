"""Configuring outgoing webhooks: the API (400 naming the field, the secret masked),
the config file (errors name the path, apply is idempotent), the admin, the audit trail."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from oncall.audit.models import AuditEntry
from paging.channels.webhooks.models import WebhookEndpoint
from tests.config.conftest import run_apply, run_export
from tests.factories import UserFactory
from tests.paging.factories import ServiceFactory

pytestmark = pytest.mark.django_db

SECRET = "s3cret-for-the-receiver-0042"


@pytest.fixture
def write(tmp_path: Path):
    """write(doc) -> the path of a YAML file holding ``doc``."""

    def _write(doc: dict) -> Path:
        path = tmp_path / "oncall.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    return _write


@pytest.fixture
def staff() -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory(is_staff=True))
    return client


def test_api_create_read_masked_and_audited(staff) -> None:
    service = ServiceFactory(name="Payments")
    answer = staff.post(
        "/api/v1/webhooks/",
        {
            "name": "bot",
            "service": service.pk,
            "url": "https://automation.example.com/oncall",
            "secret": SECRET,
            "events": ["resolved", "triggered"],
        },
        format="json",
    )
    assert answer.status_code == 201, answer.content
    data = answer.json()
    assert "secret" not in data
    assert data["secret_hint"] == "…0042"
    assert data["events"] == ["triggered", "resolved"]  # in the documented order
    assert data["enabled"] is True
    hook = WebhookEndpoint.objects.get()
    assert (hook.secret, hook.service_id) == (SECRET, service.pk)
    assert SECRET not in staff.get(f"/api/v1/webhooks/{hook.pk}/").content.decode()

    entry = AuditEntry.objects.get(object_type="channels_webhooks.webhookendpoint")
    assert entry.action == "create"
    assert entry.changes["secret"] == [None, "…0042"]

    answer = staff.patch(f"/api/v1/webhooks/{hook.pk}/", {"enabled": False}, format="json")
    assert answer.status_code == 200
    hook.refresh_from_db()
    assert (hook.enabled, hook.secret) == (False, SECRET)  # the secret kept


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"url": "ftp://example.com/x"}, "url", "not an http:// or https:// URL"),
        ({"url": "http://"}, "url", "valid URL"),
        ({"secret": "short"}, "secret", "at least 16 characters"),
        ({"secret": None}, "secret", "at least 16 characters"),
        ({"events": ["triggered", "exploded"]}, "events", "exploded"),
        ({"events": "triggered"}, "events", "list"),
        ({"name": ""}, "name", ""),
        ({"service": 999999}, "service", "Invalid pk"),
        ({"enabled": "maybe"}, "enabled", "boolean"),
    ],
)
def test_api_bad_input_is_400_naming_the_field(staff, change, field, says) -> None:
    body = {"name": "bot", "url": "https://automation.example.com/x", "secret": SECRET}
    body.update(change)
    if body.get("secret") is None:
        body.pop("secret")
    answer = staff.post("/api/v1/webhooks/", body, format="json")
    assert answer.status_code == 400, answer.content
    errors = answer.json()
    assert list(errors) == [field]
    assert says in str(errors[field])
    assert not WebhookEndpoint.objects.exists()


def test_api_duplicate_name_is_400(staff) -> None:
    body = {"name": "bot", "url": "https://automation.example.com/x", "secret": SECRET}
    assert staff.post("/api/v1/webhooks/", body, format="json").status_code == 201
    answer = staff.post("/api/v1/webhooks/", body, format="json")
    assert answer.status_code == 400
    assert "exists already" in answer.json()["name"][0]


def test_api_is_staff_only() -> None:
    client = APIClient()
    client.force_authenticate(UserFactory(is_staff=False))
    assert client.get("/api/v1/webhooks/").status_code == 403


def doc(**hook) -> dict:
    base = {"name": "bot", "url": "https://automation.example.com/oncall", "secret": SECRET}
    return {"webhooks": [{**base, **hook}]}


def test_config_apply_is_idempotent_and_exports_without_the_secret(write) -> None:
    ServiceFactory(name="Payments")
    out = run_apply(write(doc(service="Payments", events=["resolved"])))
    assert "+ webhooks[bot]" in out
    hook = WebhookEndpoint.objects.get()
    assert (hook.service.name, hook.events, hook.secret) == ("Payments", ["resolved"], SECRET)
    assert "No changes." in run_apply(write(doc(service="Payments", events=["resolved"])))

    exported = yaml.safe_load(run_export())["webhooks"]
    assert exported == [
        {
            "name": "bot",
            "service": "Payments",
            "url": "https://automation.example.com/oncall",
            "events": ["resolved"],
        }
    ]
    # The export applied as is keeps the secret.
    assert "No changes." in run_apply(write({"webhooks": exported}))
    assert WebhookEndpoint.objects.get().secret == SECRET

    out = run_apply(write(doc(url="https://elsewhere.example.com/hook")))
    assert "~ webhooks[bot]: service, url, events" in out
    hook.refresh_from_db()
    assert (hook.service, hook.events) == (None, [])  # global, every event

    assert "? webhooks[bot]" in run_apply(write({"webhooks": []}))
    assert "- webhooks[bot]" in run_apply(write({"webhooks": []}), "--prune")
    assert not WebhookEndpoint.objects.exists()


def test_config_secret_from_the_environment(write, monkeypatch) -> None:
    monkeypatch.setenv("BOT_SECRET", "from-the-environment-1234")
    hook = doc()
    del hook["webhooks"][0]["secret"]
    hook["webhooks"][0]["secret_env"] = "BOT_SECRET"
    run_apply(write(hook))
    assert WebhookEndpoint.objects.get().secret == "from-the-environment-1234"


@pytest.mark.parametrize(
    ("hook", "path"),
    [
        ({"url": "not a url"}, "webhooks[0].url: 'not a url' is not an http:// or https:// URL"),
        ({"secret": "short"}, "webhooks[0].secret: the signing secret must be at least 16"),
        ({"events": ["paged"]}, "webhooks[0].events: unknown event 'paged'"),
        ({"events": [3]}, "webhooks[0].events[0]: expected an event name"),
        ({"service": "Nowhere"}, "webhooks[0].service: service 'Nowhere' does not exist"),
        ({"service": True}, "webhooks[0].service: expected a service name"),
        ({"enabled": "yes"}, "webhooks[0].enabled: expected true or false"),
        ({"colour": "red"}, "webhooks[0].colour: unknown field 'colour'"),
        ({"secret": None}, "webhooks[0].secret: expected a string"),
        ({"secret_env": "NOT_SET_ANYWHERE_42"}, "webhooks[0].secret_env: give secret or"),
    ],
)
def test_config_errors_name_the_path(write, hook, path) -> None:
    with pytest.raises(CommandError) as caught:
        run_apply(write(doc(**hook)))
    assert path in str(caught.value)
    assert not WebhookEndpoint.objects.exists()


def test_config_new_webhook_needs_a_secret(write) -> None:
    hook = doc()
    del hook["webhooks"][0]["secret"]
    with pytest.raises(CommandError, match=r"webhooks\[0\]\.secret: a new webhook needs a secret"):
        run_apply(write(hook))


def test_admin_add_and_change_keep_the_secret_masked(client) -> None:
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    service = ServiceFactory(name="Payments")
    form = {
        "name": "bot",
        "service": service.pk,
        "url": "https://automation.example.com/oncall",
        "secret": SECRET,
        "enabled": "on",
        "events": ["acknowledged"],
    }
    answer = client.post("/admin/channels_webhooks/webhookendpoint/add/", form)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    hook = WebhookEndpoint.objects.get()
    assert (hook.secret, hook.events, hook.service_id) == (SECRET, ["acknowledged"], service.pk)
    assert AuditEntry.objects.filter(object_type="channels_webhooks.webhookendpoint").count() == 1

    page = client.get(f"/admin/channels_webhooks/webhookendpoint/{hook.pk}/change/").content
    assert SECRET.encode() not in page
    assert "…0042".encode() in page
    # Changed without typing the secret again: it stays.
    answer = client.post(
        f"/admin/channels_webhooks/webhookendpoint/{hook.pk}/change/",
        {**form, "secret": "", "url": "https://other.example.com/hook"},
    )
    assert answer.status_code == 302
    hook.refresh_from_db()
    assert (hook.url, hook.secret) == ("https://other.example.com/hook", SECRET)

    answer = client.post(
        "/admin/channels_webhooks/webhookendpoint/add/", {**form, "name": "b2", "secret": "x"}
    )
    assert answer.status_code == 200
    assert b"at least 16 characters" in answer.content
    assert client.get("/admin/channels_webhooks/webhookdelivery/").status_code == 200
