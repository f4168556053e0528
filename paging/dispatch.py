"""The dispatcher: claims due outbox rows under per-row leases and sends them concurrently.

- **Leases.** A claim writes each row's ``claim_token`` and ``lease_expires_at`` in one
  transaction (``FOR UPDATE SKIP LOCKED``); a row whose lease ran out belongs to a worker
  that died and is claimed again. Every later write, and the provider call itself, is
  conditional on still holding the token (``paging.outbox.message_deliver``). Leases of
  rows this process holds are renewed while it lives.
- **Concurrency with isolation.** A process sends up to ``DISPATCH_CONCURRENCY`` units
  at once, at most ``DISPATCH_PROVIDER_CONCURRENCY`` of them to one provider, and claims
  only as many rows as it has free slots, so nothing waits in a local queue while its
  lease runs. A provider that failed transiently ``DISPATCH_BREAKER_FAILURES`` times in a
  row is left alone for ``DISPATCH_BREAKER_COOLDOWN_SECONDS`` (or its Retry-After): its
  rows stay due in the database, then one row tries it again.
- Inside a transaction (tests, ``simulate``) or with ``DISPATCH_CONCURRENCY=1`` the rows
  are sent inline, one unit after another: other threads' connections could not see
  uncommitted rows.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Q
from django.urls import get_resolver
from django.utils import timezone

from paging import outbox
from paging.channels.registry import registered_kinds
from paging.ingest_sql import sql_once
from paging.models import Message
from paging.row_sql import columns, from_rows

logger = logging.getLogger(__name__)

# How long one dispatch call keeps claiming while sends are in flight. Sends still
# running then go on in the background; later calls claim around them.
WAIT_SECONDS = 1.0
# How often a waiting dispatch call looks for newly due rows while sends are in flight.
POLL_SECONDS = 0.2
# How often a dispatcher also looks for rows whose lease ran out (a dead worker's).
EXPIRED_CHECK_SECONDS = 5.0
# Inline mode: rows per claim, and claims per call (one call cannot run forever).
INLINE_BATCH = 200
INLINE_ROUNDS = 25


def claim_token() -> str:
    return secrets.token_hex(16)


def rows_claim(
    limit: int,
    *,
    token: str,
    exclude_kinds: frozenset[str] = frozenset(),
    expired: bool = True,
) -> list[Message]:
    """Claim up to ``limit`` due rows, and (``expired``) rows whose lease ran out.

    Without ``expired`` the query is a plain walk of the (status, due_at) index that stops
    at ``limit``; with it, PostgreSQL sorts the whole due backlog (the OR), so the
    dispatcher looks for dead workers' rows only every few seconds.
    """
    if limit <= 0:
        return []
    now = timezone.now()
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        return _rows_claim_pg(limit, token, exclude_kinds, expired, now)
    claimable = Q(status=Message.Status.PENDING, due_at__lte=now)
    if expired:
        claimable |= Q(status=Message.Status.SENDING, lease_expires_at__lt=now)
    if not Message.objects.filter(claimable).exists():
        # Ask before taking SQLite's write lock (BEGIN IMMEDIATE): an idle claim writes
        # nothing and blocks no writer.
        return []
    with transaction.atomic():
        rows = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(claimable)
            .exclude(kind__in=exclude_kinds)
            .order_by("due_at", "id")[:limit]
        )
        if not rows:
            return []
        until = outbox.lease_until(now)
        Message.objects.filter(pk__in=[row.pk for row in rows]).update(
            status=Message.Status.SENDING, claim_token=token, lease_expires_at=until
        )
    for row in rows:
        row.status, row.claim_token, row.lease_expires_at = Message.Status.SENDING, token, until
    return rows


def _claim_sql(expired: bool, excluding: bool) -> str:
    table = Message._meta.db_table
    where = "(status = %s AND due_at <= %s)"
    if expired:
        where = f"({where} OR (status = %s AND lease_expires_at < %s))"
    if excluding:
        where += " AND NOT (kind = ANY(%s))"
    return (
        f'UPDATE "{table}" SET status = %s, claim_token = %s, lease_expires_at = %s '  # noqa: S608 - names from model meta
        f'WHERE id IN (SELECT id FROM "{table}" WHERE {where} '
        f"ORDER BY due_at, id LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING {columns(Message, table)}"
    )


def _rows_claim_pg(
    limit: int, token: str, exclude_kinds: frozenset[str], expired: bool, now: datetime
) -> list[Message]:
    """``rows_claim`` in one statement (UPDATE … WHERE id IN (SELECT … SKIP LOCKED)
    RETURNING): a third of the ORM's round trips and CPU on the hot path."""
    until = outbox.lease_until(now)
    params: list[Any] = [Message.Status.SENDING, token, until, Message.Status.PENDING, now]
    if expired:
        params += [Message.Status.SENDING, now]
    if exclude_kinds:
        params.append(sorted(exclude_kinds))
    sql = sql_once(_claim_sql, expired, bool(exclude_kinds))
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit])
        rows = from_rows(Message, cursor.fetchall())
    return sorted(rows, key=lambda row: (row.due_at, row.pk))


def rows_release(rows: list[Message], token: str) -> None:
    """Give claimed rows back unsent (due as they were), e.g. over a provider's limit."""
    Message.objects.filter(pk__in=[row.pk for row in rows], claim_token=token).update(
        status=Message.Status.PENDING, claim_token="", lease_expires_at=None
    )


def leases_renew(ids: list[int], token: str) -> int:
    """Extend the leases of rows still held by ``token``. Rows locked by a send in flight
    are skipped: their lock already keeps every other worker away."""
    if not ids:
        return 0
    with transaction.atomic():
        free = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(pk__in=ids, claim_token=token, status=Message.Status.SENDING)
            .values_list("pk", flat=True)
        )
        return Message.objects.filter(pk__in=free).update(
            lease_expires_at=outbox.lease_until(timezone.now())
        )


@dataclass
class Breaker:
    """A provider's circuit: closed; open until ``open_until``; then half-open (one try)."""

    failures: int = 0
    open_until: float = 0.0

    def allows(self, now: float, in_flight: int) -> bool:
        if self.failures < settings.DISPATCH_BREAKER_FAILURES:
            return True
        return now >= self.open_until and in_flight == 0

    def record(self, outcome: outbox.SendOutcome, now: float, provider: str) -> None:
        # A permanent error is the provider answering (a bad number): not its fault.
        if outcome.ok or outcome.permanent:
            self.failures = 0
            return
        self.failures += 1
        if self.failures >= settings.DISPATCH_BREAKER_FAILURES:
            cooldown = max(settings.DISPATCH_BREAKER_COOLDOWN_SECONDS, outcome.retry_after or 0)
            self.open_until = now + cooldown
            if self.failures == settings.DISPATCH_BREAKER_FAILURES:
                logger.warning(
                    "provider %s failed %d times in a row: left alone for %.0f s (%s)",
                    provider,
                    self.failures,
                    cooldown,
                    outcome.error,
                )


@dataclass
class _Flight:
    provider: str
    ids: list[int]
    token: str
    future: Future[None] | None = None


class Dispatcher:
    """One per process: a bounded pool of senders, per-provider limits and breakers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = 0
        self._pool: ThreadPoolExecutor | None = None
        self._flights: dict[int, _Flight] = {}
        self._next_flight = 0
        self._breakers: dict[str, Breaker] = defaultdict(Breaker)
        self._renewer: threading.Thread | None = None
        # One claim at a time per process; ``run`` calls in progress; when expired
        # leases were last looked for; set by ``drain`` (no more background claims).
        self._claiming = threading.Lock()
        self._runs = 0
        self._expired_checked_at = float("-inf")
        self._closing = False
        # Whether the last claim may have left due rows behind (it was full, gave rows
        # back over a provider's limit, or skipped a provider's kinds): only then is a
        # freed slot worth a claim. Otherwise rows due later come with their own kick
        # (or beat's tick), and a claim per finished send would find nothing.
        self._left_behind = False

    # --- state ------------------------------------------------------------------------
    def start(self) -> None:
        """Start the pool now (process start-up) rather than on the first due page."""
        if settings.DISPATCH_CONCURRENCY > 1:
            self._executor()

    def _executor(self) -> ThreadPoolExecutor:
        # A forked child (celery prefork) has none of its parent's threads: start afresh.
        if self._pool is None or self._pid != os.getpid():
            _warm_up()
            self._pool = ThreadPoolExecutor(
                settings.DISPATCH_CONCURRENCY, thread_name_prefix="dispatch"
            )
            self._flights = {}
            self._breakers = defaultdict(Breaker)
            self._pid = os.getpid()
        return self._pool

    def in_flight(self) -> int:
        with self._lock:
            return len(self._flights)

    def _providers_busy(self) -> Counter[str]:
        with self._lock:
            return Counter(flight.provider for flight in self._flights.values())

    def _provider_takes(self, provider: str, busy: Counter[str]) -> bool:
        """Whether ``provider`` may get one more send now: under its limit, circuit closed
        (or half-open and idle)."""
        if busy[provider] >= settings.DISPATCH_PROVIDER_CONCURRENCY:
            return False
        return self._breakers[provider].allows(time.monotonic(), busy[provider])

    def _room(self, busy: Counter[str], blocked: frozenset[str], providers: dict[str, str]) -> int:
        """How many sends each provider not blocked can start now, at the least
        (``providers``: kind -> provider)."""
        limit = settings.DISPATCH_PROVIDER_CONCURRENCY
        open_to = {provider for kind, provider in providers.items() if kind not in blocked}
        return min((limit - busy[provider] for provider in open_to), default=0)

    def _blocked_kinds(self, busy: Counter[str], providers: dict[str, str]) -> frozenset[str]:
        """Kinds whose provider is at its limit or whose circuit is open."""
        return frozenset(
            kind for kind, provider in providers.items() if not self._provider_takes(provider, busy)
        )

    # --- one call -------------------------------------------------------------------
    def run(self, wait_seconds: float | None = None) -> int:
        """Claim and send what is due; returns how many rows were claimed."""
        if settings.DISPATCH_CONCURRENCY <= 1 or connection.in_atomic_block:
            return self._run_inline()
        pool = self._executor()
        deadline = time.monotonic() + (WAIT_SECONDS if wait_seconds is None else wait_seconds)
        with self._lock:
            self._runs += 1
            self._closing = False
        try:
            return self._run_until(pool, deadline)
        finally:
            with self._lock:
                self._runs -= 1

    def _run_until(self, pool: ThreadPoolExecutor, deadline: float) -> int:
        claimed_total = 0
        while True:
            with self._claiming:
                claimed, more = self._claim_and_submit(pool)
            claimed_total += claimed
            with self._lock:
                flights = [f.future for f in self._flights.values() if f.future is not None]
            if not flights and not claimed:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if more and len(flights) < settings.DISPATCH_CONCURRENCY:
                continue  # rows were left behind and slots are free: claim again now
            if flights:
                # A finished send frees a slot for rows left behind; with none, claim
                # again only when the sends are done or every POLL_SECONDS.
                until = FIRST_COMPLETED if self._left_behind else ALL_COMPLETED
                wait(flights, timeout=min(POLL_SECONDS, remaining), return_when=until)
        return claimed_total

    def _run_inline(self) -> int:
        token = claim_token()
        total = 0
        for _ in range(INLINE_ROUNDS):
            rows = rows_claim(INLINE_BATCH, token=token)
            for unit in outbox.deliveries_plan(rows):
                outbox.deliveries_send(unit, token)
            total += len(rows)
            if len(rows) < INLINE_BATCH:
                break
        return total

    def _claim_and_submit(self, pool: ThreadPoolExecutor) -> tuple[int, bool]:
        """Claim rows for the free slots and start them; also says whether due rows may
        have been left behind (a full claim, or rows given back over a provider's limit)."""
        free = settings.DISPATCH_CONCURRENCY - self.in_flight()
        if free <= 0:
            return 0, False
        busy = self._providers_busy()
        providers = {kind: provider_of(kind) for kind in registered_kinds()}
        blocked = self._blocked_kinds(busy, providers)
        # No more rows than every provider has room for: whichever providers the rows
        # are for, all of them can start now. Before, a claim filled every free slot and
        # gave back what a busy provider could not take (an UPDATE each way): a burst at
        # one provider was claimed and released over and over while its sends ran.
        room = min(free, self._room(busy, blocked, providers))
        if room <= 0:
            # Every provider is full: a finished send frees a slot and claims again.
            self._left_behind = True
            return 0, False
        token = claim_token()
        now = time.monotonic()
        expired = now - self._expired_checked_at >= EXPIRED_CHECK_SECONDS
        if expired:
            self._expired_checked_at = now
        rows = rows_claim(room, token=token, exclude_kinds=blocked, expired=expired)
        over: list[Message] = []
        for unit in outbox.deliveries_plan(rows):
            provider = provider_of(unit[0].kind)
            if not self._provider_takes(provider, busy):
                over.extend(unit)
                continue
            busy[provider] += 1
            flight = _Flight(provider, [m.pk for m in unit], token)
            with self._lock:
                self._next_flight += 1
                number = self._next_flight
                self._flights[number] = flight
            flight.future = pool.submit(self._fly, number, unit)
        if over:
            rows_release(over, token)
        if len(rows) > len(over):
            self._renewer_ensure()
        more = bool(over) or len(rows) == room
        self._left_behind = more or bool(blocked)
        return len(rows) - len(over), more

    def _fly(self, number: int, unit: list[Message]) -> None:
        """One unit of work in a pool thread, on that thread's own connection. The
        outcome is recorded before the future completes, so a waiting ``run`` sees it."""
        flight = self._flights[number]
        outcomes: list[outbox.SendOutcome | None] = []
        close_old_connections()
        try:
            outcomes = outbox.deliveries_send(unit, flight.token)
        except Exception:
            logger.exception("dispatch of messages %s failed", flight.ids)
        finally:
            close_old_connections()
            now = time.monotonic()
            with self._lock:
                for outcome in outcomes:
                    if outcome is not None:
                        self._breakers[flight.provider].record(outcome, now, flight.provider)
                self._flights.pop(number, None)
                refill = self._runs == 0 and not self._closing and self._left_behind
        if refill:
            self._refill()

    def _refill(self) -> None:
        """A slot freed between ticks: claim what is due now instead of waiting for the
        next tick (a worker's throughput does not hang on beat's cadence)."""
        if self._pool is None or not self._claiming.acquire(blocking=False):
            return  # another thread is claiming already
        try:
            self._claim_and_submit(self._pool)
        except Exception:  # the next tick claims again
            logger.exception("claiming between ticks failed")
        finally:
            self._claiming.release()
            close_old_connections()

    def _renewer_ensure(self) -> None:
        with self._lock:
            if self._renewer is not None and self._renewer.is_alive():
                return
            self._renewer = threading.Thread(
                target=self._renew_loop, name="dispatch-leases", daemon=True
            )
            self._renewer.start()

    def _renew_loop(self) -> None:
        """While this process holds rows, keep their leases from running out."""
        while True:
            time.sleep(settings.DISPATCH_LEASE_SECONDS / 3)
            with self._lock:
                held = [(f.token, f.ids) for f in self._flights.values()]
            if not held:
                return
            try:
                for token, ids in held:
                    leases_renew(ids, token)
            except Exception:  # the next round tries again; the lease has slack
                logger.exception("renewing dispatch leases failed")
            finally:
                close_old_connections()

    def drain(self, timeout: float) -> None:
        """Wait (up to ``timeout``) for the sends in flight, e.g. before the process exits;
        no more claims between ticks until the next ``run``."""
        with self._lock:
            self._closing = True
            flights = [f.future for f in self._flights.values() if f.future is not None]
        if flights:
            wait(flights, timeout=timeout)


def _warm_up() -> None:
    """Import what the senders need before they run: the URLconf (reverse() for
    callback URLs) and every transport. Threads that race to import one module wait
    on each other's import locks (seen: seconds, with a pool of eight)."""
    get_resolver().url_patterns  # noqa: B018 - loading is the point
    for kind in registered_kinds():
        outbox.channel_for(kind)


def provider_of(kind: str) -> str:
    """The provider behind a kind: ``twilio-sms`` and ``twilio-voice`` share Twilio."""
    return outbox.channel_for(kind).name.split("-")[0]


dispatcher = Dispatcher()
