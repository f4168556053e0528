"""Fairness report: hours, off-hours (outside Mon-Fri 08-18 local), weekend, holiday."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from schedules.fairness import fairness_report
from schedules.resolver import LayerDef, LayerVersionDef, ScheduleDefinition


def _definition(tz: str, holidays=frozenset()) -> ScheduleDefinition:
    version = LayerVersionDef(
        effective_from=datetime(2020, 1, 1, tzinfo=UTC),
        members=(1, 2),
        start_date=date(2026, 1, 5),  # Monday
        handoff_time=time(0),
        shift_unit="weeks",
        time_zone=tz,
    )
    return ScheduleDefinition(
        id=1,
        name="S",
        time_zone=tz,
        layers=[LayerDef(1, "L", 0, (version,))],
        holidays=holidays,
        names={1: "Alice", 2: "Bob"},
    )


def test_week_split_into_business_off_weekend_and_holiday_hours():
    d = _definition("UTC", holidays=frozenset({date(2026, 1, 6)}))
    [alice] = fairness_report(
        d, datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 12, tzinfo=UTC)
    )
    assert alice["engineer"] == 1 and alice["engineer_name"] == "Alice"
    assert alice["hours"] == 168
    assert alice["weekend_hours"] == 48
    # 5 weekdays x 14 off-hours + 48 weekend hours.
    assert alice["off_hours"] == 5 * 14 + 48
    assert alice["holiday_hours"] == 24


def test_local_time_zone_and_two_engineers():
    d = _definition("America/New_York")
    start = datetime(2026, 1, 5, 5, tzinfo=UTC)  # Monday 00:00 New York
    rows = fairness_report(d, start, start + timedelta(days=14))
    assert [(r["engineer"], r["hours"], r["off_hours"]) for r in rows] == [
        (1, 168, 118),
        (2, 168, 118),
    ]
