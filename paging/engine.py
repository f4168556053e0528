"""The engine tick: one pass over every due row in the database.

Celery beat calls it every few seconds (and a kick calls it right after a commit
that created due work); in embedded mode a thread of the web process does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.utils import timezone

from paging.models import EngineHeartbeat
from paging.outbox import dispatch_due

logger = logging.getLogger(__name__)

# Steps run by every tick, in order. Later features (escalations, reminders, swap
# expiry) register theirs here so there stays one loop and one heartbeat.
TICK_STEPS: list[Callable[[], int]] = []


def register_tick_step(step: Callable[[], int]) -> Callable[[], int]:
    if step not in TICK_STEPS:
        TICK_STEPS.append(step)
    return step


def tick() -> int:
    """Advance everything that is due; returns the number of rows processed."""
    started = time.perf_counter()
    processed = 0
    for step in TICK_STEPS:
        processed += step()
    processed += dispatch_due()
    elapsed_ms = (time.perf_counter() - started) * 1000
    EngineHeartbeat.objects.update_or_create(
        name="engine",
        defaults={
            "last_tick_at": timezone.now(),
            "last_tick_ms": elapsed_ms,
            "processed": processed,
        },
    )
    return processed
