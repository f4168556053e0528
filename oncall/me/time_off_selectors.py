"""What /me/time-off/ shows: my current and coming time off, each with who substitutes
for me in which schedule (from the resolver), in my zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from oncall.people.models import Engineer
from oncall.timefmt import local_text
from schedules.models import Schedule, TimeOff
from schedules.selectors import engineer_schedule_ids, schedule_shifts


@dataclass(frozen=True)
class TimeOffRow:
    time_off: TimeOff
    span: str
    covers: list[str]  # "Marco · Primary · Thu 3 Dec 2026, 10:00 CET → …"


def my_time_off(*, engineer: Engineer, now: datetime) -> list[TimeOffRow]:
    tz = engineer.time_zone
    entries = list(TimeOff.objects.filter(engineer=engineer, end__gt=now).order_by("start")[:50])
    schedule_ids = engineer_schedule_ids(engineer_id=engineer.pk)
    names = dict(Schedule.objects.filter(pk__in=schedule_ids).values_list("pk", "name"))
    found = [
        [
            (schedule_id, shift)
            for schedule_id in schedule_ids
            for shift in schedule_shifts(schedule_id=schedule_id, start=entry.start, end=entry.end)
            if shift.substitute_for == engineer.pk
        ]
        for entry in entries
    ]
    ids = {shift.engineer_id for pairs in found for _, shift in pairs}
    people = dict(Engineer.objects.filter(pk__in=ids).values_list("pk", "display_name"))
    return [
        TimeOffRow(
            time_off=entry,
            span=f"{local_text(entry.start, tz)} → {local_text(entry.end, tz)}",
            covers=[
                f"{people.get(shift.engineer_id, '?')} · {names[schedule_id]} · "
                f"{local_text(shift.start, tz)} → {local_text(shift.end, tz)}"
                for schedule_id, shift in pairs
            ],
        )
        for entry, pairs in zip(entries, found, strict=True)
    ]
