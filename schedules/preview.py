"""The admin's 14-day preview: who is on call in each local hour, gaps marked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.utils import timezone

from schedules.resolver import ScheduleDefinition, localize, resolve, to_local_naive


@dataclass(frozen=True)
class Cell:
    hour: int
    name: str  # "" for a gap
    gap: bool
    holiday: bool = False
    override: bool = False
    skipped: bool = False  # the local hour does not exist (spring forward)


@dataclass(frozen=True)
class Row:
    day: str
    cells: list[Cell]


def preview_rows(
    definition: ScheduleDefinition, *, days: int = 14, now: datetime | None = None
) -> list[Row]:
    tz = definition.tz
    today = to_local_naive(now or timezone.now(), tz).date()
    start = localize(datetime.combine(today, time()), tz)
    end = localize(datetime.combine(today + timedelta(days=days), time()), tz)
    shifts = resolve(definition, start, end)
    rows = []
    i = 0
    for offset in range(days):
        day = today + timedelta(days=offset)
        cells = []
        for hour in range(24):
            naive = datetime.combine(day, time(hour))
            instant = localize(naive, tz)
            if to_local_naive(instant, tz).hour != hour:
                cells.append(Cell(hour, "", gap=False, skipped=True))
                continue
            while i < len(shifts) and shifts[i].end <= instant:
                i += 1
            j = i
            shift = None
            while j < len(shifts) and shifts[j].start <= instant:
                if shifts[j].end > instant:
                    shift = shifts[j]
                    break
                j += 1
            if shift is None:
                cells.append(Cell(hour, "", gap=True))
            else:
                cells.append(
                    Cell(
                        hour,
                        definition.name_of(shift.engineer_id),
                        gap=False,
                        holiday=shift.holiday,
                        override=shift.source_kind == "override",
                    )
                )
        rows.append(Row(day.strftime("%a %d %b"), cells))
    return rows
