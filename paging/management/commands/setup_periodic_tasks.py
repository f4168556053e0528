"""Install the engine's beat schedule into django-celery-beat (idempotent)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django_celery_beat.models import IntervalSchedule, PeriodicTask

PERIODIC_TASKS = [
    # (name, task, every seconds)
    ("paging engine tick", "paging.engine_tick", None),
]


class Command(BaseCommand):
    help = "Create or update the PeriodicTask rows the engine needs; safe to run on every deploy."

    def handle(self, *args: Any, **options: Any) -> None:
        for name, task, every in PERIODIC_TASKS:
            seconds = every or settings.ENGINE_TICK_SECONDS
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=seconds, period=IntervalSchedule.SECONDS
            )
            _, created = PeriodicTask.objects.update_or_create(
                name=name,
                defaults={"task": task, "interval": interval, "enabled": True, "expires": None},
            )
            verb = "created" if created else "up to date"
            self.stdout.write(f"{name}: every {seconds}s ({verb})")
