"""The dispatcher's rules, one at a time: leases and fencing, reconciling a send whose
answer was lost, per-provider limits and the circuit breaker."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from paging import dispatch
from paging.channels import TransportError
from paging.dispatch import Breaker, rows_claim
from paging.engine import tick
from paging.models import IncidentEvent, Message
from paging.outbox import SendOutcome, deliveries_send
from tests.paging.factories import ServiceFactory, policy_with_steps
from tests.support import T0, RecordingChannel, engineer_with_ladder, fire

pytestmark = pytest.mark.django_db


def notice(n: int = 0, kind: str = "sms") -> Message:
    return Message.objects.create(
        idempotency_key=f"notice:{kind}:{n}",
        purpose=Message.Purpose.NOTICE,
        kind=kind,
        destination=f"+1415555{n:04d}",
        body=f"notice {n}",
        due_at=timezone.now(),
    )


# Statements of one inline dispatcher run (DISPATCH_CONCURRENCY=1): the claim, then per
# row the attempt's mark and its outcome. PostgreSQL claims with one UPDATE … RETURNING
# and re-checks the lease under a row lock before recording; SQLite asks first, then
# claims with SELECT and UPDATE in a write transaction.
DISPATCH_STATEMENTS = {
    "idle": {"sqlite": 1, "postgresql": 1},
    "claim": {"sqlite": 5, "postgresql": 1},
    "per_row": {"sqlite": 4, "postgresql": 5},
}


@pytest.mark.django_db(transaction=True)
def test_an_idle_dispatcher_run_costs_a_fixed_number_of_statements(
    clock, channel, settings, django_assert_num_queries
) -> None:
    settings.DISPATCH_CONCURRENCY = 1
    with django_assert_num_queries(DISPATCH_STATEMENTS["idle"][connection.vendor]):
        assert dispatch.dispatcher.run() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("rows", [1, 3])
def test_a_dispatcher_run_costs_a_fixed_number_of_statements_per_row(
    clock, channel, settings, django_assert_num_queries, rows: int
) -> None:
    settings.DISPATCH_CONCURRENCY = 1
    sent = [notice(n) for n in range(rows)]
    vendor = connection.vendor
    per_row = DISPATCH_STATEMENTS["per_row"][vendor]
    with django_assert_num_queries(DISPATCH_STATEMENTS["claim"][vendor] + rows * per_row):
        assert dispatch.dispatcher.run() == rows
    assert sorted(s.destination for s in channel.sent) == sorted(m.destination for m in sent)
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}


def test_a_row_whose_lease_ran_out_is_sent_by_its_new_holder_only(clock, channel) -> None:
    row = notice()
    [first] = rows_claim(10, token="a" * 32)
    assert rows_claim(10, token="b" * 32) == []  # leased: nobody else may take it
    clock.shift(timedelta(seconds=31))  # the first worker stalled past its lease
    [second] = rows_claim(10, token="b" * 32)
    assert second.pk == first.pk == row.pk
    # The stalled worker wakes up: its token no longer matches, it sends nothing.
    assert deliveries_send([first], "a" * 32) == [None]
    assert channel.sent == []
    [outcome] = deliveries_send([second], "b" * 32)
    assert outcome == SendOutcome(ok=True)
    assert [s.destination for s in channel.sent] == [row.destination]
    row.refresh_from_db()
    assert (row.status, row.claim_token, row.lease_expires_at) == ("sent", "", None)
    assert row.attempt_started_at is None


def test_the_loser_cannot_overwrite_the_winners_result(clock, channel) -> None:
    notice()
    [stale] = rows_claim(1, token="a" * 32)
    clock.shift(timedelta(seconds=31))
    [fresh] = rows_claim(1, token="b" * 32)
    deliveries_send([fresh], "b" * 32)
    # A late write of the first holder (say a retry it had scheduled) matches no row.
    from paging.outbox import _released

    assert _released(stale, token="a" * 32, status=Message.Status.PENDING) == 0
    assert Message.objects.get().status == "sent"


@dataclass
class LookupChannel(RecordingChannel):
    """A recording channel whose provider can be asked what it already accepted."""

    accepted: dict[str, str] = field(default_factory=dict)
    asked: list[tuple[int, datetime]] = field(default_factory=list)
    lookup_fails: bool = False

    def find_sent(self, message: Message, since: datetime) -> str | None:
        self.asked.append((message.pk, since))
        if self.lookup_fails:
            raise TransportError("history lookup: 503")
        return self.accepted.get(message.destination)


@pytest.fixture
def lookup_channel(monkeypatch) -> LookupChannel:
    channel = LookupChannel(name="lookup")
    monkeypatch.setattr("paging.outbox.channel_for", lambda kind: channel)
    return channel


def page_with_unknown_outcome(channel: RecordingChannel, clock) -> tuple[Message, object]:
    """A page whose first send timed out after the provider may have taken it."""
    alice = engineer_with_ladder("Alice", "+14155550001")
    incident = fire(ServiceFactory(escalation_policy=policy_with_steps([alice])))
    channel.errors["+14155550001"] = TransportError("read timed out", maybe_sent=True)
    tick()
    message = Message.objects.get(destination="+14155550001", kind="sms")
    assert (message.status, message.attempts) == ("pending", 1)
    assert message.attempt_started_at == T0  # kept: the next try asks first
    del channel.errors["+14155550001"]
    clock.shift(timedelta(seconds=10))
    return message, incident


def test_an_unknown_outcome_found_at_the_provider_is_not_sent_again(clock, lookup_channel) -> None:
    message, _ = page_with_unknown_outcome(lookup_channel, clock)
    lookup_channel.accepted["+14155550001"] = "SMfound"
    tick()
    message.refresh_from_db()
    assert lookup_channel.sent == []  # not sent a second time
    assert lookup_channel.asked == [(message.pk, T0 - timedelta(seconds=5))]
    assert (message.status, message.provider_id, message.attempts) == ("sent", "SMfound", 1)
    assert message.attempt_started_at is None


def test_an_unknown_outcome_not_found_is_sent_again(clock, lookup_channel) -> None:
    message, _ = page_with_unknown_outcome(lookup_channel, clock)
    tick()
    message.refresh_from_db()
    assert [s.destination for s in lookup_channel.sent] == ["+14155550001"]
    assert (message.status, message.attempts) == ("sent", 2)


def test_a_failed_lookup_sends_nothing_and_asks_again_next_time(clock, lookup_channel) -> None:
    message, _ = page_with_unknown_outcome(lookup_channel, clock)
    lookup_channel.lookup_fails = True
    tick()
    message.refresh_from_db()
    assert lookup_channel.sent == []
    assert (message.status, message.attempt_started_at) == ("pending", T0)  # still in doubt
    lookup_channel.lookup_fails = False
    lookup_channel.accepted["+14155550001"] = "SMfound"
    clock.shift(timedelta(seconds=20))
    tick()
    message.refresh_from_db()
    assert lookup_channel.sent == []
    assert (message.status, message.provider_id) == ("sent", "SMfound")
    assert len(lookup_channel.asked) == 2


def test_without_a_lookup_the_retry_says_the_first_may_have_arrived(clock, channel) -> None:
    message, incident = page_with_unknown_outcome(channel, clock)
    tick()
    message.refresh_from_db()
    assert [s.destination for s in channel.sent] == ["+14155550001"]
    assert message.status == "sent"
    line = incident.events.get(kind=IncidentEvent.Kind.NOTIFICATION_QUEUED, message=message)
    assert "may have arrived" in line.text and "sending again" in line.text


def test_a_definite_failure_does_not_ask_the_provider(clock, lookup_channel) -> None:
    alice = engineer_with_ladder("Alice", "+14155550001")
    fire(ServiceFactory(escalation_policy=policy_with_steps([alice])))
    lookup_channel.errors["+14155550001"] = TransportError("connection refused")
    tick()
    assert Message.objects.get(destination="+14155550001", kind="sms").attempt_started_at is None
    del lookup_channel.errors["+14155550001"]
    clock.shift(timedelta(seconds=10))
    tick()
    assert lookup_channel.asked == []
    assert len(lookup_channel.sent) == 1


def test_breaker_opens_after_failures_in_a_row_then_lets_one_try(settings) -> None:
    settings.DISPATCH_BREAKER_FAILURES = 3
    settings.DISPATCH_BREAKER_COOLDOWN_SECONDS = 30
    breaker = Breaker()
    failed = SendOutcome(ok=False, error="timeout")
    for _ in range(2):
        breaker.record(failed, 100.0, "twilio")
    assert breaker.allows(100.0, in_flight=3)  # two failures: still closed
    breaker.record(SendOutcome(ok=False, permanent=True, error="bad number"), 100.0, "twilio")
    assert breaker.failures == 0  # a permanent error is the provider answering
    for _ in range(3):
        breaker.record(failed, 100.0, "twilio")
    assert not breaker.allows(100.0, in_flight=0)
    assert not breaker.allows(129.9, in_flight=0)
    assert breaker.allows(130.0, in_flight=0)  # half-open: one try…
    assert not breaker.allows(130.0, in_flight=1)  # …at a time
    breaker.record(SendOutcome(ok=False, error="429", retry_after=120), 130.0, "twilio")
    assert not breaker.allows(249.0, in_flight=0)  # the provider's Retry-After wins
    breaker.record(SendOutcome(ok=True), 250.0, "twilio")
    assert breaker.allows(250.0, in_flight=5)


@pytest.mark.postgres  # threads on SQLite's shared-cache test database lock whole tables
@pytest.mark.django_db(transaction=True)
def test_rows_over_a_providers_limit_go_back_due_and_the_breaker_holds_them(
    settings, channel
) -> None:
    """Concurrent mode: an open breaker keeps its provider's rows in the database."""
    settings.DISPATCH_CONCURRENCY = 4
    settings.DISPATCH_PROVIDER_CONCURRENCY = 2
    settings.DISPATCH_BREAKER_FAILURES = 2
    for n in range(4):
        notice(n)
        channel.errors[f"+1415555{n:04d}"] = TransportError("503 from provider")
    dispatcher = dispatch.Dispatcher()
    try:
        dispatcher.run(wait_seconds=5)
        tried = Message.objects.filter(attempts=1).count()
        # Two at a time; the circuit opened on the second failure in a row, so at most
        # one more try had started: the rest were never tried (without a breaker: all 4).
        assert 2 <= tried <= 3
        assert Message.objects.filter(status="pending", attempts=0).count() == 4 - tried
        assert Message.objects.filter(claim_token="").count() == 4
        Message.objects.update(due_at=timezone.now())
        channel.errors.clear()
        dispatcher.run(wait_seconds=5)
        assert Message.objects.filter(status="sent").count() == 0  # still open (30 s)
    finally:
        dispatcher.drain(10)


@pytest.mark.postgres  # threads on SQLite's shared-cache test database lock whole tables
@pytest.mark.django_db(transaction=True)
def test_a_freed_slot_claims_the_next_row_without_waiting_for_a_tick(settings, channel) -> None:
    """Two slots, six due rows, one ``run`` that returns at once: as each send lands the
    worker claims the next, so all six leave before any further tick."""
    from tests.paging.test_reliability_pg import wait_for

    settings.DISPATCH_CONCURRENCY = 2
    settings.DISPATCH_PROVIDER_CONCURRENCY = 2
    for n in range(6):
        notice(n)
    dispatcher = dispatch.Dispatcher()
    try:
        assert dispatcher.run(wait_seconds=0) == 2
        wait_for(lambda: Message.objects.filter(status="sent").count() == 6, 10, "all six sent")
    finally:
        dispatcher.drain(10)
    assert sorted(s.destination for s in channel.sent) == [f"+1415555{n:04d}" for n in range(6)]
