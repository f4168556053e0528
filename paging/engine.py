"""The engine tick: one pass over every due row in the database.

Celery beat calls it every few seconds (and a kick calls it right after a commit
that created due work); in embedded mode a thread of the web process does.

A tick runs the registered steps in their explicit order: escalation (10), dispatch
(20), then everything else. Each step is isolated: its exception is logged with the
step's name, counted durably (``EngineStep``, read by /metrics and /healthz) and the
next step runs as if nothing happened, so a bug in swap expiry or reminders never
stops paging.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from paging.ingest_sql import sql_once
from paging.models import EngineHeartbeat, EngineStep

logger = logging.getLogger(__name__)

ESCALATION = "escalation"
DISPATCH = "dispatch"
# Paging itself: /healthz answers 503 while the last run of one of these failed.
CRITICAL_STEPS = frozenset({ESCALATION, DISPATCH})


@dataclass(frozen=True)
class TickStep:
    name: str
    fn: Callable[[], int]  # returns how many rows it processed
    order: int
    # Runs in kicked ticks too (False: a periodic scan, run by full ticks only).
    on_kick: bool = True


_STEPS: dict[str, TickStep] = {}


def register_tick_step(
    name: str, fn: Callable[[], int], *, order: int, on_kick: bool = True
) -> Callable[[], int]:
    """Run ``fn`` in every tick; lower ``order`` first (ties by name).

    ``on_kick=False``: only in full ticks (beat's, every ``ENGINE_TICK_SECONDS``), not in
    the ticks a commit kicks; for scans driven by the clock (swap expiry), which a
    commit does not make due. Registering a name again replaces it (``ready()`` may run
    more than once).
    """
    _STEPS[name] = TickStep(name=name, fn=fn, order=order, on_kick=on_kick)
    return fn


def unregister_tick_step(name: str) -> None:
    _STEPS.pop(name, None)


def tick_steps() -> list[TickStep]:
    return sorted(_STEPS.values(), key=lambda step: (step.order, step.name))


def dispatch_step() -> int:
    """The "dispatch" step: claim and send what is due (``paging.dispatch``)."""
    from paging.dispatch import dispatcher  # imported late: the dispatcher imports models

    return dispatcher.run()


@contextmanager
def _isolated() -> Iterator[None]:
    """A savepoint when the caller holds a transaction, else nothing.

    In autocommit (the worker, the embedded loop) each step manages its own
    transactions and an error rolls back only the step's own; wrapping a step in one
    atomic would hold its row locks and its sent pages uncommitted until it ends. Inside
    a caller's transaction (tests, a tick run in ``atomic``) a failed statement would
    abort the whole transaction on PostgreSQL, so the step gets a savepoint.
    """
    if connection.in_atomic_block:
        with transaction.atomic():
            yield
    else:
        yield


def _run(step: TickStep) -> int | None:
    """The step's count, or None when it raised (logged and recorded)."""
    try:
        with _isolated():
            return step.fn()
    except Exception as exc:  # isolation is the point: any error stays in its step
        logger.exception("engine tick step %r failed", step.name)
        if not connection.in_atomic_block:
            # A step that broke the connection (or left autocommit off) must not take
            # the next step down with it: drop it, the next query reconnects.
            connection.close_if_unusable_or_obsolete()
        _failure_record(step.name, exc)
        return None


def _failure_record(name: str, exc: Exception) -> None:
    """One UPDATE (an INSERT the first time this step fails)."""
    now = timezone.now()
    error_class = type(exc).__name__[:120]
    error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
    fields = {
        "failures_total": F("failures_total") + 1,
        "last_error_class": error_class,
        "last_error": error,
        "last_failed_at": now,
    }
    try:
        with _isolated():
            if EngineStep.objects.filter(name=name).update(**fields):
                return
            try:
                with transaction.atomic():
                    EngineStep.objects.create(
                        name=name,
                        failures_total=1,
                        last_error_class=error_class,
                        last_error=error,
                        last_failed_at=now,
                    )
            except IntegrityError:  # another process recorded its first failure first
                EngineStep.objects.filter(name=name).update(**fields)
    except DatabaseError:  # the database is down: the log line above is all we have
        logger.exception("could not record the failure of engine tick step %r", name)


# The two writes of every tick, as SQL built once per process: compiling the ORM
# queries cost more CPU than running them, and an idle tick is little else.
def _recoveries_sql(count: int) -> str:
    table = connection.ops.quote_name(EngineStep._meta.db_table)
    names = ", ".join(["%s"] * count)
    return (
        f"UPDATE {table} SET last_ok_at = %s WHERE name IN ({names}) AND last_failed_at <= %s"  # noqa: S608
        " AND (last_ok_at IS NULL OR last_ok_at < last_failed_at)"
    )


def _heartbeat_sql() -> str:
    table = connection.ops.quote_name(EngineHeartbeat._meta.db_table)
    assign = "last_tick_at = %s, last_tick_ms = %s, processed = %s"
    return f"UPDATE {table} SET {assign} WHERE name = %s"  # noqa: S608


def _when(moment: datetime) -> Any:
    # What the backend's cursor takes: text on SQLite, the datetime itself on PostgreSQL.
    return connection.ops.adapt_datetimefield_value(moment)


def _recoveries_record(names: set[str], *, tick_started: datetime, now: datetime) -> None:
    """Steps that ran OK this tick and had failed before it started are OK again.

    One UPDATE per tick that matches no row while nothing fails (no write per step per
    tick). A failure recorded after this tick started (another process) stays.
    """
    if not names:
        return
    ordered = sorted(names)
    with connection.cursor() as cursor:
        cursor.execute(
            sql_once(_recoveries_sql, len(ordered)),
            [_when(now), *ordered, _when(tick_started)],
        )


def _heartbeat_write(*, elapsed_ms: float, processed: int) -> None:
    at = timezone.now()
    values = {"last_tick_at": at, "last_tick_ms": elapsed_ms, "processed": processed}
    # One UPDATE per tick; the row is created by the very first tick only.
    with connection.cursor() as cursor:
        cursor.execute(sql_once(_heartbeat_sql), [_when(at), elapsed_ms, processed, "engine"])
        if cursor.rowcount:
            return
    EngineHeartbeat.objects.get_or_create(name="engine", defaults=values)


def tick(*, kicked: bool = False) -> int:
    """Advance everything that is due; returns the number of rows processed.

    ``kicked``: a coalesced kick asked for this tick (paging/kick.py). It runs the steps
    that act on commits (``on_kick``: escalation, dispatch, forwarding) and writes
    neither the heartbeat nor recoveries: the clock-driven scans and the heartbeat belong
    to the full ticks beat runs every ``ENGINE_TICK_SECONDS`` (so /healthz notices when
    those stop, even while commits keep kicking).
    """
    started = time.perf_counter()
    tick_started = timezone.now()
    processed = 0
    ok: set[str] = set()
    failed: set[str] = set()
    dispatch = _STEPS.get(DISPATCH)
    work_after_dispatch = False
    for step in tick_steps():
        if kicked and not step.on_kick:
            continue
        done = _run(step)
        if done is None:
            failed.add(step.name)
            continue
        ok.add(step.name)
        processed += done
        if dispatch is not None and step.order > dispatch.order and done:
            work_after_dispatch = True
    if work_after_dispatch and dispatch is not None:
        # Steps after dispatch wrote outbox rows (Slack updates, reminders, swap
        # notices): send them in this tick rather than the next. Costs nothing when
        # they did nothing.
        done = _run(dispatch)
        if done is None:
            failed.add(DISPATCH)
        else:
            processed += done
    if kicked:
        return processed
    _recoveries_record(ok - failed, tick_started=tick_started, now=timezone.now())
    elapsed_ms = (time.perf_counter() - started) * 1000
    _heartbeat_write(elapsed_ms=elapsed_ms, processed=processed)
    return processed
