"""Fairness report: per engineer, hours on call, off-hours, weekend and holiday hours.

Off-hours are outside Monday-Friday 08:00-18:00 (PagerDuty's business-hours convention)
in the schedule's time zone; weekend hours are Saturday and Sunday local time; holiday
hours are the resolver's holiday-flagged hours. A weekend hour is also an off-hour.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from schedules.resolver import ScheduleDefinition, localize, resolve, to_local_naive

BUSINESS_START = time(8)
BUSINESS_END = time(18)


def _split_local_days(start: datetime, end: datetime, definition: ScheduleDefinition):
    """Yield (local day, piece start, piece end) for [start, end) cut at local midnights."""
    tz = definition.tz
    cursor = start
    while cursor < end:
        day = to_local_naive(cursor, tz).date()
        midnight = localize(datetime.combine(day + timedelta(days=1), time()), tz)
        piece_end = min(midnight, end)
        yield day, cursor, piece_end
        cursor = piece_end


def fairness_report(definition: ScheduleDefinition, start: datetime, end: datetime) -> list[dict]:
    totals: dict[int, dict[str, float]] = {}
    for shift in resolve(definition, start, end):
        row = totals.setdefault(
            shift.engineer_id,
            {"hours": 0.0, "off_hours": 0.0, "weekend_hours": 0.0, "holiday_hours": 0.0},
        )
        hours = shift.duration.total_seconds() / 3600
        row["hours"] += hours
        if shift.holiday:
            row["holiday_hours"] += hours
        for day, a, b in _split_local_days(shift.start, shift.end, definition):
            piece = (b - a).total_seconds() / 3600
            if day.weekday() >= 5:
                row["weekend_hours"] += piece
                row["off_hours"] += piece
                continue
            biz_a = localize(datetime.combine(day, BUSINESS_START), definition.tz)
            biz_b = localize(datetime.combine(day, BUSINESS_END), definition.tz)
            overlap = max(timedelta(), min(b, biz_b) - max(a, biz_a)).total_seconds() / 3600
            row["off_hours"] += piece - overlap
    return [
        {
            "engineer": engineer_id,
            "engineer_name": definition.name_of(engineer_id),
            **{key: round(value, 2) for key, value in row.items()},
        }
        for engineer_id, row in sorted(totals.items(), key=lambda kv: -kv[1]["hours"])
    ]
