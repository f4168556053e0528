"""A freed sending slot claims again only when the last claim may have left due rows
behind: a claim per finished send would find nothing (rows due later come with their
own kick or beat's tick), while a backlog still drains between ticks."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
from django.utils import timezone

from paging import dispatch
from paging.models import Message
from tests.support import RecordingChannel

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@dataclass
class GatedChannel(RecordingChannel):
    """Each send waits until the test opens its destination's gate."""

    gates: dict[str, threading.Event] = field(default_factory=dict)

    def send(self, message: Message) -> str:
        self.gates.setdefault(message.destination, threading.Event()).wait(10)
        return super().send(message)


def notices(count: int) -> list[str]:
    for n in range(count):
        Message.objects.create(
            idempotency_key=f"notice:{n}",
            purpose=Message.Purpose.NOTICE,
            kind="sms",
            destination=f"+1415555{n:04d}",
            body=f"notice {n}",
            due_at=timezone.now(),
        )
    return [f"+1415555{n:04d}" for n in range(count)]


def until(condition, seconds: float = 10) -> None:
    """Wait for other threads' work (not for the clock): poll the condition."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def gated(monkeypatch: pytest.MonkeyPatch) -> GatedChannel:
    channel = GatedChannel()
    monkeypatch.setattr("paging.outbox.channel_for", lambda kind: channel)
    return channel


@pytest.fixture
def claims(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many rows each claim returned, in order."""
    returned: list[int] = []
    real = dispatch.rows_claim

    def spy(*args, **kwargs):
        rows = real(*args, **kwargs)
        returned.append(len(rows))
        return rows

    monkeypatch.setattr(dispatch, "rows_claim", spy)
    return returned


def test_sends_finishing_one_by_one_claim_nothing_more_when_all_were_taken(
    settings, gated, claims
) -> None:
    settings.DISPATCH_CONCURRENCY = 8
    destinations = notices(3)
    dispatcher = dispatch.Dispatcher()
    pool = dispatcher._executor()
    claimed, more = dispatcher._claim_and_submit(pool)  # between ticks, as after a kick
    assert (claimed, more) == (3, False)
    for n, destination in enumerate(destinations, start=1):
        gated.gates.setdefault(destination, threading.Event()).set()
        until(lambda n=n: len(gated.sent) == n and dispatcher.in_flight() == 3 - n)
    assert claims == [3]  # no claim per finished send
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}
    pool.shutdown(wait=True)


def test_a_backlog_larger_than_the_pool_drains_between_ticks(settings, gated, claims) -> None:
    settings.DISPATCH_CONCURRENCY = 2
    destinations = notices(5)
    for destination in destinations:
        gated.gates.setdefault(destination, threading.Event()).set()
    dispatcher = dispatch.Dispatcher()
    pool = dispatcher._executor()
    dispatcher._claim_and_submit(pool)  # a full claim: rows were left behind
    until(lambda: Message.objects.filter(status="sent").count() == 5)
    assert sorted(s.destination for s in gated.sent) == destinations
    assert claims[0] == 2 and sum(claims) == 5
    pool.shutdown(wait=True)


@pytest.fixture
def releases(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many claimed rows each release gave back unsent."""
    given: list[int] = []
    real = dispatch.rows_release

    def spy(rows, token):
        given.append(len(rows))
        return real(rows, token)

    monkeypatch.setattr(dispatch, "rows_release", spy)
    return given


def test_a_burst_at_one_provider_is_claimed_as_its_sends_can_start_not_given_back(
    settings, gated, claims, releases
) -> None:
    """Eight free slots but a provider limit of four: the claim takes four, not eight of
    which four go back (an UPDATE each way, again after every finished send)."""
    settings.DISPATCH_CONCURRENCY = 8
    settings.DISPATCH_PROVIDER_CONCURRENCY = 4
    destinations = notices(10)
    dispatcher = dispatch.Dispatcher()
    pool = dispatcher._executor()
    assert dispatcher._claim_and_submit(pool) == (4, True)
    assert Message.objects.filter(status="sending").count() == 4
    assert dispatcher._claim_and_submit(pool) == (0, False)  # the provider is full
    for destination in destinations:
        gated.gates.setdefault(destination, threading.Event()).set()
    until(lambda: Message.objects.filter(status="sent").count() == 10)
    until(lambda: dispatcher.in_flight() == 0)
    assert sorted(s.destination for s in gated.sent) == destinations  # each once
    assert releases == []
    assert claims[0] == 4 and sum(claims) == 10
    pool.shutdown(wait=True)


def test_room_is_what_every_provider_not_blocked_can_take() -> None:
    providers = {"sms": "t", "voice": "t", "email": "m"}
    dispatcher = dispatch.Dispatcher()
    limit = 4
    assert dispatcher._room(Counter({"t": 3}), frozenset(), providers) == 1
    # Twilio full (its kinds excluded from the claim): the mail provider's room.
    twilio = frozenset({"sms", "voice"})
    assert dispatcher._room(Counter({"t": limit, "m": 1}), twilio, providers) == 3
    assert dispatcher._room(Counter(), frozenset(providers), providers) == 0
