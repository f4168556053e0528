"""Coalesced kicks: at most one pending kick per worker queue, and none lost."""

from __future__ import annotations

import os
from typing import Any

import pytest

import paging.engine
from paging import embedded, kick
from paging.models import Incident, Message
from paging.tasks import engine_tick
from tests.paging.factories import ServiceFactory, policy_with_steps
from tests.support import engineer_with_ladder, fire

pytestmark = pytest.mark.django_db


class KeyStore:
    """The Redis commands the kick uses (SET [NX] PX, PTTL, DEL), with expiry on a clock
    of its own (``now``, seconds) that the tests move."""

    def __init__(self) -> None:
        self.keys: dict[str, float] = {}
        self.now = 0.0

    def _live(self, key: str) -> bool:
        expires = self.keys.get(key)
        if expires is not None and expires <= self.now:
            del self.keys[key]
        return key in self.keys

    def set(self, key: str, value: Any, *, px: int, nx: bool = False) -> bool:
        if nx and self._live(key):
            return False
        self.keys[key] = self.now + px / 1000
        return True

    def pttl(self, key: str) -> int:
        return round((self.keys[key] - self.now) * 1000) if self._live(key) else -2

    def delete(self, key: str) -> int:
        return int(self.keys.pop(key, None) is not None)

    def pending(self) -> set[str]:
        return {key for key in list(self.keys) if self._live(key)} - {kick.window_key()}


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
    assert store.pending() == set()  # the next commit kicks again
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
        seen.append(kick.pending_key() in store.pending())
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
    assert store.pending() == set()  # the next commit tries again at once


def test_without_coalescing_every_commit_publishes_a_kick(
    clock, channel, store, published, settings, service, django_capture_on_commit_callbacks
) -> None:
    settings.ENGINE_KICK_COALESCE = False
    for n in range(3):
        fire_committed(service, f"k{n}", django_capture_on_commit_callbacks)
    assert [sorted(p) for p in published] == [["kicked_at"]] * 3
    assert store.pending() == set()


@pytest.fixture
def sleeps(monkeypatch, store) -> list[float]:
    """The worker's window waits: recorded, and the store's clock moves by them."""
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        store.now += seconds

    monkeypatch.setattr(kick.time, "sleep", sleep)
    return slept


def test_a_kick_inside_the_window_waits_for_its_end_and_its_tick_takes_the_commits_meanwhile(
    clock, channel, store, published, sleeps, settings, service, monkeypatch,
    django_capture_on_commit_callbacks,
) -> None:  # fmt: skip
    settings.ENGINE_KICK_WINDOW_MS = 100
    fire_committed(service, "k1", django_capture_on_commit_callbacks)
    engine_tick(**published[0])
    assert sleeps == []  # no kicked tick before it: at once
    store.now += 0.03
    fire_committed(service, "k2", django_capture_on_commit_callbacks)
    assert len(published) == 2

    def commit_while_waiting(seconds: float) -> None:
        sleeps.append(seconds)
        store.now += seconds
        # The key is still pending during the wait: this commit publishes nothing ...
        fire_committed(service, "k3", django_capture_on_commit_callbacks)

    monkeypatch.setattr(kick.time, "sleep", commit_while_waiting)
    engine_tick(**published[1])
    assert sleeps == [pytest.approx(0.07)]  # the rest of the first tick's window
    assert len(published) == 2
    # ... and the tick after the wait pages it with k2.
    paged = {Incident.objects.get(pk=s.incident_id).dedup_key for s in channel.sent}
    assert paged == {"k1", "k2", "k3"}
    assert store.pending() == set()


def test_kicks_further_apart_than_the_window_wait_for_nothing(
    clock, channel, store, published, sleeps, settings, service,
    django_capture_on_commit_callbacks,
) -> None:  # fmt: skip
    settings.ENGINE_KICK_WINDOW_MS = 100
    for n in range(3):
        fire_committed(service, f"k{n}", django_capture_on_commit_callbacks)
        engine_tick(**published[-1])
        store.now += 0.1
    assert len(published) == 3
    assert sleeps == []
    assert len(channel.sent) == 3


def test_window_zero_never_waits(
    clock, channel, store, published, sleeps, settings, service,
    django_capture_on_commit_callbacks,
) -> None:  # fmt: skip
    settings.ENGINE_KICK_WINDOW_MS = 0
    for n in range(3):
        fire_committed(service, f"k{n}", django_capture_on_commit_callbacks)
        engine_tick(**published[-1])
    assert sleeps == []
    assert store.keys == {}


class LoopClock:
    """The embedded loop's clock (``time.monotonic``) and stop event: waits move it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []
        self.stopped = False

    def monotonic(self) -> float:
        return self.now

    def is_set(self) -> bool:
        return self.stopped

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        self.stopped = self.stopped or len(self.waits) > 100  # a loop that never stops
        return self.stopped


class LoopWakeup:
    """The kick event of the embedded loop, on the loop's clock."""

    def __init__(self, clock: LoopClock) -> None:
        self.clock = clock
        self.flag = False
        self.waited = 0

    def set(self) -> None:
        self.flag = True

    def clear(self) -> None:
        self.flag = False

    def wait(self, seconds: float) -> bool:
        self.waited += 1
        self.clock.stopped = self.clock.stopped or self.waited > 100  # a loop that never stops
        if not self.flag:
            self.clock.now += seconds
        return self.flag


def test_embedded_loop_under_constant_kicks_ticks_once_per_window_and_fully_every_tick_seconds(
    settings, monkeypatch
) -> None:
    settings.ENGINE_KICK_WINDOW_MS = 100
    settings.ENGINE_TICK_SECONDS = 2
    clock = LoopClock()
    wakeup = LoopWakeup(clock)
    ticks: list[tuple[float, bool]] = []

    def tick_with_a_commit(*, kicked: bool = False) -> int:
        ticks.append((clock.now - 1000.0, kicked))
        clock.now += 0.01  # a tick takes 10 ms
        clock.stopped = len(ticks) == 25
        wakeup.set()  # a commit during every tick
        return 0

    monkeypatch.setattr(embedded, "tick", tick_with_a_commit)
    monkeypatch.setattr(embedded, "time", clock)
    monkeypatch.setattr(embedded, "embedded_wakeup", wakeup)
    monkeypatch.setattr(embedded, "close_old_connections", lambda: None)
    embedded._loop(clock)  # type: ignore[arg-type]
    assert len(ticks) == 25
    starts = [at for at, _ in ticks]
    # The first kicked tick starts at once; each later one a window after the one before.
    assert starts[1] == pytest.approx(0.01)
    assert all(b - a == pytest.approx(0.1) for a, b in zip(starts[1:], starts[2:], strict=False))
    # Full ticks (every step, the heartbeat): the first, then once ENGINE_TICK_SECONDS passed.
    full = [at for at, kicked in ticks if not kicked]
    assert full == [0.0, pytest.approx(2.01)]


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
