"""Reads for the admin home: per schedule, who is on call now and next, and the gaps
in the days ahead (from the pure resolver, one definition load for all schedules)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from schedules.models import Schedule
from schedules.resolver import ScheduleDefinition, Shift, resolve
from schedules.selectors import schedule_definitions

HORIZON = timedelta(days=14)


@dataclass(frozen=True)
class OnCallSpan:
    name: str
    start: datetime  # UTC
    end: datetime  # UTC; the horizon when the shift runs past it
    past_horizon: bool


@dataclass(frozen=True)
class ScheduleCoverage:
    schedule_id: int
    name: str
    time_zone: str
    now: OnCallSpan | None  # None: nobody on call right now
    next: OnCallSpan | None  # the next person (or the first one after a gap)
    gaps: list[tuple[datetime, datetime]]  # uncovered, from now to the horizon


def _span(definition: ScheduleDefinition, shift: Shift, horizon_end: datetime) -> OnCallSpan:
    return OnCallSpan(
        name=definition.name_of(shift.engineer_id),
        start=shift.start,
        end=shift.end,
        past_horizon=shift.end >= horizon_end,
    )


def _gaps(shifts: list[Shift], start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    gaps, cursor = [], start
    for shift in shifts:  # ordered, never overlapping
        if shift.start > cursor:
            gaps.append((cursor, shift.start))
        cursor = max(cursor, shift.end)
    if cursor < end:
        gaps.append((cursor, end))
    return gaps


def schedule_coverage(
    definition: ScheduleDefinition, *, now: datetime, horizon: timedelta = HORIZON
) -> ScheduleCoverage:
    end = now + horizon
    shifts = resolve(definition, now, end)
    current = shifts[0] if shifts and shifts[0].start <= now else None
    # The next shift of someone else; consecutive shifts of the same person are one stay.
    upcoming = None
    holder = current.engineer_id if current else None
    until = current.end if current else now
    for shift in shifts[1:] if current else shifts:
        if current and shift.engineer_id == holder and shift.start == until:
            until = shift.end
            continue
        upcoming = shift
        break
    now_span = None
    if current is not None:
        now_span = OnCallSpan(
            name=definition.name_of(holder),
            start=current.start,
            end=until,
            past_horizon=until >= end,
        )
    return ScheduleCoverage(
        schedule_id=definition.id,
        name=definition.name,
        time_zone=definition.time_zone,
        now=now_span,
        next=_span(definition, upcoming, end) if upcoming else None,
        gaps=_gaps(shifts, now, end),
    )


def schedules_coverage(*, now: datetime, horizon: timedelta = HORIZON) -> list[ScheduleCoverage]:
    """Every schedule's coverage from ``now``, by name."""
    ids = Schedule.objects.values_list("pk", flat=True)
    definitions = schedule_definitions(ids)
    out = [schedule_coverage(d, now=now, horizon=horizon) for d in definitions.values()]
    out.sort(key=lambda c: (c.name.lower(), c.schedule_id))
    return out
