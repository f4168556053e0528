"""Celery tasks: thin entry points into the engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from celery import shared_task

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
