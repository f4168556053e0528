"""Celery tasks: thin entry points into the engine."""

from __future__ import annotations

from celery import shared_task

from paging.engine import tick


@shared_task(name="paging.engine_tick", ignore_result=True)
def engine_tick() -> int:
    # Rows are claimed with skip_locked, so overlapping ticks (beat + kicks) are safe.
    return tick()
