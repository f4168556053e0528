"""The engine's per-step record: failures counted durably, so every process reports the same."""

from __future__ import annotations

from django.db import models


class EngineStep(models.Model):
    """One row per tick step that has ever failed (a step that never failed has none).

    Written only when something changes: one UPDATE per failing step per tick, and one
    UPDATE per tick (matching no row while all is well) marking recovered steps. A step
    is failing while ``last_failed_at`` is newer than ``last_ok_at``.
    """

    name = models.CharField(max_length=64, unique=True)
    failures_total = models.PositiveBigIntegerField(default=0)
    # The exception's class name (shown on /healthz) and its text (admin and logs only).
    last_error_class = models.CharField(max_length=120, blank=True)
    last_error = models.TextField(blank=True)
    last_failed_at = models.DateTimeField(null=True, blank=True)
    # When the step last ran OK after a failure (not written on every OK run).
    last_ok_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name}: {self.failures_total} failures"

    @property
    def failing(self) -> bool:
        if self.last_failed_at is None:
            return False
        return self.last_ok_at is None or self.last_failed_at > self.last_ok_at
