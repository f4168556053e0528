"""The per-process integration cache: fast, bounded, and never serving a deleted token
for longer than its TTL (immediately in the process that deleted it)."""

from __future__ import annotations

import json

import pytest

from paging.inbound import integrations
from paging.inbound.integrations import integration_for_token
from paging.models import Integration


@pytest.fixture(autouse=True)
def empty_cache():
    integrations.integration_cache_clear()
    yield
    integrations.integration_cache_clear()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def post(client, integration: Integration):
    return client.post(
        f"/integrations/webhook/{integration.token}/",
        json.dumps({"title": "x"}),
        content_type="application/json",
    )


def test_found_integration_is_served_from_cache(webhook_integration, django_assert_num_queries):
    integration_for_token(webhook_integration.token, "webhook")
    with django_assert_num_queries(0):
        found = integration_for_token(webhook_integration.token, "webhook")
    assert found.pk == webhook_integration.pk
    assert found.service.name == webhook_integration.service.name


def test_kind_is_part_of_the_key(webhook_integration):
    assert integration_for_token(webhook_integration.token, "webhook") is not None
    assert integration_for_token(webhook_integration.token, "alertmanager") is None


@pytest.mark.parametrize("token", [None, 5, "", "x" * 65, ["a"]])
def test_unusable_tokens(token, db):
    assert integration_for_token(token, "webhook") is None


def test_deleting_clears_the_cache_at_once(client, webhook_integration):
    assert post(client, webhook_integration).status_code == 202
    webhook_integration.delete()
    assert post(client, webhook_integration).status_code == 404


def test_changes_without_signals_are_seen_after_the_ttl(client, webhook_integration, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(integrations.time, "monotonic", clock)
    assert post(client, webhook_integration).status_code == 202
    Integration.objects.filter(pk=webhook_integration.pk).update(kind="alertmanager")
    clock.now += integrations.TTL_SECONDS - 0.1
    assert post(client, webhook_integration).status_code == 202  # still cached
    clock.now += 0.2
    assert post(client, webhook_integration).status_code == 404


def test_unknown_tokens_are_not_cached(db):
    for n in range(50):
        assert integration_for_token(f"unknown-{n}", "webhook") is None
    assert integrations._cache == {}


def test_cache_is_bounded(db, monkeypatch, service):
    monkeypatch.setattr(integrations, "MAX_ENTRIES", 3)
    made = [Integration.objects.create(service=service, kind="webhook") for _ in range(5)]
    for integration in made:
        assert integration_for_token(integration.token, "webhook") is not None
    assert len(integrations._cache) <= 3
