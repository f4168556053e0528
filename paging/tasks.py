"""Celery tasks: thin entry points into the engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from celery import shared_task
from celery.signals import worker_process_init, worker_process_shutdown

from paging.dispatch import dispatcher
from paging.engine import tick
from paging.kick import kick_pending_take
from paging.models import EngineHeartbeat


def tick_started_since(moment: datetime) -> bool:
    """Whether a whole tick started after ``moment`` (and so saw what was committed then)."""
    beat = EngineHeartbeat.objects.filter(name="engine").only("last_tick_at", "last_tick_ms")
    row = beat.first()
    if row is None:
        return False
    return row.last_tick_at - timedelta(milliseconds=row.last_tick_ms) > moment


@shared_task(name="paging.engine_tick", ignore_result=True)
def engine_tick(kicked_at: float | None = None, coalesced: bool = False) -> int:
    # Rows are claimed with skip_locked, so overlapping ticks (beat + kicks) are safe.
    if coalesced:
        # Before the tick reads anything (after the rest of the previous kicked tick's
        # window): a commit from now on publishes a new kick.
        kick_pending_take()
    elif kicked_at is not None and tick_started_since(datetime.fromtimestamp(kicked_at, UTC)):
        # Uncoalesced kicks (ENGINE_KICK_COALESCE=false, AMQP): one a newer tick has
        # already covered is dropped.
        return 0
    # A coalesced kick runs the steps commits need (a kicked tick); beat's task (no
    # arguments) a full one. Uncoalesced kicks run full ticks as before: their heartbeat is
    # what lets a later kick see that it was covered (above).
    return tick(kicked=coalesced)


@worker_process_init.connect
def _dispatcher_start(**_: object) -> None:
    # Each worker process sends from its own pool; start it before the first page.
    dispatcher.start()


@worker_process_shutdown.connect
def _dispatcher_drain(**_: object) -> None:
    # Let sends in flight finish and record (a warm shutdown); a killed process's rows
    # are claimed again when their leases run out.
    dispatcher.drain(timeout=15)
