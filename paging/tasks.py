"""Celery tasks: thin entry points into the engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from celery import shared_task
from celery.signals import worker_process_init, worker_process_shutdown

from paging.dispatch import dispatcher
from paging.engine import tick
from paging.models import EngineHeartbeat


def tick_started_since(moment: datetime) -> bool:
    """Whether a whole tick started after ``moment`` (and so saw what was committed then)."""
    beat = EngineHeartbeat.objects.filter(name="engine").only("last_tick_at", "last_tick_ms")
    row = beat.first()
    if row is None:
        return False
    return row.last_tick_at - timedelta(milliseconds=row.last_tick_ms) > moment


@shared_task(name="paging.engine_tick", ignore_result=True)
def engine_tick(kicked_at: float | None = None) -> int:
    # Rows are claimed with skip_locked, so overlapping ticks (beat + kicks) are safe.
    # A kick (sent after a commit) that a newer tick has already covered is dropped, so
    # a burst of alerts costs a few ticks, not one per alert.
    if kicked_at is not None and tick_started_since(datetime.fromtimestamp(kicked_at, UTC)):
        return 0
    return tick()


@worker_process_init.connect
def _dispatcher_start(**_: object) -> None:
    # Each worker process sends from its own pool; start it before the first page.
    dispatcher.start()


@worker_process_shutdown.connect
def _dispatcher_drain(**_: object) -> None:
    # Let sends in flight finish and record (a warm shutdown); a killed process's rows
    # are claimed again when their leases run out.
    dispatcher.drain(timeout=15)
