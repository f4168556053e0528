"""Coalesced kicks: at most one pending kick per worker queue, and none lost."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest

import paging.engine
from paging import kick
from paging.models import Incident, Message
from paging.tasks import engine_tick
from tests.paging.factories import ServiceFactory, policy_with_steps
from tests.paging.test_engine import engineer_with_ladder, fire

pytestmark = pytest.mark.django_db


class KeyStore:
    """The two Redis commands the kick uses (SET NX PX, DEL), with expiry."""

    def __init__(self) -> None:
        self.keys: dict[str, float] = {}

    def set(self, key: str, value: Any, *, nx: bool, px: int) -> bool:
        expires = self.keys.get(key)
        if nx and expires is not None and expires > time.monotonic():
            return False
        self.keys[key] = time.monotonic() + px / 1000
        return True

    def delete(self, key: str) -> int:
        return int(self.keys.pop(key, None) is not None)


@pytest.fixture
def published(settings, monkeypatch) -> list[dict[str, Any]]:
    """Celery mode; the publishes the kicks make (not sent anywhere)."""
    settings.EMBEDDED_MODE = False
    settings.ENGINE_KICK_COALESCE = True
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(kick, "_publish", lambda **kwargs: sent.append(kwargs))
    return sent


@pytest.fixture
def store(monkeypatch) -> KeyStore:
    keys = KeyStore()
    monkeypatch.setattr(kick, "_pending_client", lambda: keys)
    return keys


@pytest.fixture
def service():
    alice = engineer_with_ladder("Alice", "+14155550001")
    return ServiceFactory(escalation_policy=policy_with_steps([alice]))


def fire_committed(service, key: str, capture) -> Incident:
    with capture(execute=True):
        return fire(service, key=key)


def test_a_burst_publishes_one_kick_and_its_tick_pages_every_alert(
    clock, channel, store, published, service, django_capture_on_commit_callbacks
) -> None:
    for n in range(10):
        fire_committed(service, f"k{n}", django_capture_on_commit_callbacks)
    assert published == [{"coalesced": True}]  # nine requests published nothing

    engine_tick(**published[0])
    # Every incident was escalated by that one tick (SMS beyond 5 in 15 min are held
    # for a bundle by the throttle).
    pages = Message.objects.filter(purpose=Message.Purpose.PAGE, incident__isnull=False)
    assert pages.values("incident").distinct().count() == 10
    assert len(channel.sent) == 5
    assert store.keys == {}  # the next commit kicks again
    fire_committed(service, "k10", django_capture_on_commit_callbacks)
    assert len(published) == 2


def test_the_flag_is_cleared_before_the_tick_reads_so_a_commit_meanwhile_kicks_again(
    clock, channel, store, published, service, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    fire_committed(service, "k1", django_capture_on_commit_callbacks)
    assert len(published) == 1
    seen: list[bool] = []

    def commit_during_the_tick() -> int:
        # Runs first in the tick, before escalation reads the incidents.
        seen.append(kick.pending_key() in store.keys)
        if len(seen) == 1:
            fire_committed(service, "late", django_capture_on_commit_callbacks)
        return 0

    monkeypatch.setattr(paging.engine, "_STEPS", dict(paging.engine._STEPS))
    paging.engine.register_tick_step("commit_during_tick", commit_during_the_tick, order=1)
    engine_tick(**published[0])
    assert seen == [False]  # the pending flag was gone before the tick started reading
    assert published == [{"coalesced": True}, {"coalesced": True}]  # the late alert kicked
    engine_tick(**published[1])
    paged = {Incident.objects.get(pk=s.incident_id).dedup_key for s in channel.sent}
    assert paged == {"k1", "late"}


def test_a_publish_that_failed_leaves_no_pending_flag(
    clock, channel, store, settings, monkeypatch, service, django_capture_on_commit_callbacks
) -> None:
    settings.EMBEDDED_MODE = False

    def broker_down(**kwargs: Any) -> None:
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(kick, "_publish", broker_down)
    failures = kick.kick_failures()
    fire_committed(service, "k1", django_capture_on_commit_callbacks)
    assert kick.kick_failures() == failures + 1
    assert store.keys == {}  # the next commit tries again at once


def test_without_coalescing_every_commit_publishes_a_kick(
    clock, channel, store, published, settings, service, django_capture_on_commit_callbacks
) -> None:
    settings.ENGINE_KICK_COALESCE = False
    for n in range(3):
        fire_committed(service, f"k{n}", django_capture_on_commit_callbacks)
    assert [sorted(p) for p in published] == [["kicked_at"]] * 3
    assert store.keys == {}


def test_embedded_mode_sets_the_loop_event(
    settings, service, django_capture_on_commit_callbacks
) -> None:
    settings.EMBEDDED_MODE = True
    kick.embedded_wakeup.clear()
    fire_committed(service, "k1", django_capture_on_commit_callbacks)
    assert kick.embedded_wakeup.is_set()
    kick.embedded_wakeup.clear()


@pytest.mark.skipif(
    not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"),
    reason="needs a Redis broker (CELERY_BROKER_URL=redis://…)",
)
def test_with_the_real_redis_one_kick_is_pending_until_the_worker_clears_it(
    clock, channel, published, service, django_capture_on_commit_callbacks
) -> None:
    client = kick._pending_client()
    assert client is not None
    client.delete(kick.pending_key())
    for n in range(5):
        fire_committed(service, f"k{n}", django_capture_on_commit_callbacks)
    assert published == [{"coalesced": True}]
    assert 0 < client.pttl(kick.pending_key()) <= kick.PENDING_EXPIRY_MS
    engine_tick(**published[0])
    assert client.exists(kick.pending_key()) == 0
    assert len(channel.sent) == 5
