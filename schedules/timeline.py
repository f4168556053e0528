"""The schedule page's timeline: rows of bars laid out over a range (pure, no database).

Rows, top to bottom: one per layer (its rotation as handed off, before restrictions and
time off), one for overrides (swaps marked), one for time off, and the final result (the
resolver's shifts; gaps flagged only from now on, since a past gap cannot be helped and
the time before the schedule existed is no gap). Holidays are bands across all rows.

Positions are per cent of the range (``left``, ``width``), computed from UTC instants, so
a 23- or 25-hour day takes its real share. Labels and ticks are in the viewer's zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from schedules.resolver import (
    ScheduleDefinition,
    Shift,
    holiday_spans,
    localize,
    resolve,
    rotation_slots,
    to_local_naive,
)

RANGES = {"day": "1 day", "week": "1 week", "2weeks": "2 weeks", "month": "1 month"}
PALETTE_SIZE = 10
# Final shifts are resolved this far around the range so that a bar's link to "add
# override" carries the whole shift, not only the part inside the view.
PAD = timedelta(days=7)


@dataclass(frozen=True)
class Bar:
    label: str
    start: datetime  # clipped to the range, UTC
    end: datetime
    left: float  # per cent of the range
    width: float
    kind: str  # "shift" | "override" | "gap" | "off"
    title: str  # the bar's full text: who, when, why
    engineer_id: int | None = None
    colour: int | None = None  # palette index, from the engineer id
    holiday: bool = False
    full_start: datetime | None = None  # the whole shift (final row), UTC
    full_end: datetime | None = None


@dataclass(frozen=True)
class Row:
    label: str
    kind: str  # "layer" | "overrides" | "off" | "final"
    bars: list[Bar]


@dataclass(frozen=True)
class Tick:
    label: str
    left: float


@dataclass
class Timeline:
    range: str
    first_day: date  # the range's first local day
    start: datetime  # UTC
    end: datetime
    zone: str
    rows: list[Row]
    ticks: list[Tick]
    previous_day: date  # the first day of the range before, and after
    next_day: date
    holidays: list[Bar] = field(default_factory=list)
    now_left: float | None = None


def range_first_day(range_key: str, day: date) -> date:
    """The first day of the range containing ``day``: itself, its Monday, the 1st."""
    if range_key in ("week", "2weeks"):
        return day - timedelta(days=day.weekday())
    if range_key == "month":
        return day.replace(day=1)
    return day


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def range_bounds(range_key: str, first: date) -> tuple[date, date, date]:
    """(last day exclusive, previous first day, next first day)."""
    if range_key == "month":
        return _add_months(first, 1), _add_months(first, -1), _add_months(first, 1)
    days = {"day": 1, "week": 7, "2weeks": 14}[range_key]
    step = timedelta(days=days)
    return first + step, first - step, first + step


def colour_of(engineer_id: int) -> int:
    return engineer_id % PALETTE_SIZE


class _Scale:
    def __init__(self, start: datetime, end: datetime, tz: ZoneInfo) -> None:
        self.start, self.end, self.tz = start, end, tz
        self.total = (end - start).total_seconds()

    def pos(self, instant: datetime) -> float:
        return round(100 * (instant - self.start).total_seconds() / self.total, 3)

    def clip(self, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
        a, b = max(start, self.start), min(end, self.end)
        return (a, b) if b > a else None

    def when(self, start: datetime, end: datetime) -> str:
        a, b = start.astimezone(self.tz), end.astimezone(self.tz)
        same_day = a.date() == b.date()
        tail = f"{b:%H:%M %Z}" if same_day else f"{b:%a %d %b %H:%M %Z}"
        return f"{a:%a %d %b %H:%M} – {tail}"

    def bar(
        self, label: str, start: datetime, end: datetime, kind: str, note: str = "", **kw
    ) -> Bar | None:
        span = self.clip(start, end)
        if span is None:
            return None
        a, b = span
        left = self.pos(a)
        title = f"{label}: {self.when(start, end)}" + (f" ({note})" if note else "")
        return Bar(label, a, b, left, round(self.pos(b) - left, 3), kind, title, **kw)


def _layer_rows(definition: ScheduleDefinition, scale: _Scale) -> list[Row]:
    rows = []
    for layer in definition.layers_by_precedence:
        bars: list[Bar] = []
        versions = layer.versions
        for i, version in enumerate(versions):
            v_start = max(version.effective_from, scale.start)
            v_end = (
                min(versions[i + 1].effective_from, scale.end)
                if i + 1 < len(versions)
                else scale.end
            )
            if v_end <= v_start or not version.active or not version.members:
                continue
            for k, slot_start, slot_end in rotation_slots(version, v_start, v_end):
                engineer_id = version.members[k % len(version.members)]
                bar = scale.bar(
                    definition.name_of(engineer_id),
                    max(slot_start, v_start),
                    min(slot_end, v_end),
                    "shift",
                    engineer_id=engineer_id,
                    colour=colour_of(engineer_id),
                )
                if bar:
                    bars.append(bar)
        if bars or any(v.active for v in versions if v.effective_from < scale.end):
            rows.append(Row(f"Layer: {layer.name} (level {layer.level})", "layer", bars))
    return rows


def _override_row(definition: ScheduleDefinition, scale: _Scale, swap_ids: set[int]) -> Row:
    bars = []
    for override in definition.overrides_in_order:
        label = definition.name_of(override.engineer_id)
        note = "swap" if override.id in swap_ids else "override"
        if override.replace_engineer_id:
            note += f", replacing {definition.name_of(override.replace_engineer_id)}"
        bar = scale.bar(
            label,
            override.start,
            override.end,
            "override",
            note,
            engineer_id=override.engineer_id,
            colour=colour_of(override.engineer_id),
        )
        if bar:
            bars.append(bar)
    bars.sort(key=lambda b: b.start)
    return Row("Overrides and swaps", "overrides", bars)


def _time_off_row(definition: ScheduleDefinition, scale: _Scale) -> Row:
    bars = []
    for entry in sorted(definition.time_off, key=lambda t: (t.start, t.engineer_id)):
        bar = scale.bar(
            f"{definition.name_of(entry.engineer_id)} off",
            entry.start,
            entry.end,
            "off",
            "time off",
            engineer_id=entry.engineer_id,
            colour=colour_of(entry.engineer_id),
        )
        if bar:
            bars.append(bar)
    return Row("Time off", "off", bars)


def _final_row(definition: ScheduleDefinition, scale: _Scale, now: datetime) -> Row:
    shifts: list[Shift] = resolve(definition, scale.start - PAD, scale.end + PAD)
    bars: list[Bar] = []
    for shift in shifts:
        note = shift.reason + (", holiday" if shift.holiday else "")
        bar = scale.bar(
            definition.name_of(shift.engineer_id),
            shift.start,
            shift.end,
            "override" if shift.source_kind == "override" else "shift",
            note,
            engineer_id=shift.engineer_id,
            colour=colour_of(shift.engineer_id),
            holiday=shift.holiday,
            full_start=shift.start,
            full_end=shift.end,
        )
        if bar:
            bars.append(bar)
    # Gaps from now on only: the past cannot be helped, and before the schedule existed
    # nothing was meant to be covered.
    cursor = max(now, scale.start)
    covered = [(s.start, s.end) for s in shifts]
    for start, end in [*covered, (scale.end, scale.end)]:
        if end <= cursor:
            continue
        if start > cursor:
            gap = scale.bar("gap", cursor, min(start, scale.end), "gap", "nobody on call")
            if gap:
                bars.append(gap)
        cursor = max(cursor, end)
        if cursor >= scale.end:
            break
    bars.sort(key=lambda b: b.start)
    return Row("Final: who is paged", "final", bars)


def _ticks(range_key: str, first: date, last: date, scale: _Scale) -> list[Tick]:
    ticks = []
    if range_key == "day":
        for hour in range(0, 24, 3):
            instant = localize(datetime.combine(first, time(hour)), scale.tz)
            ticks.append(Tick(f"{hour:02d}:00", scale.pos(instant)))
        return ticks
    day = first
    while day < last:
        instant = localize(datetime.combine(day, time()), scale.tz)
        label = f"{day:%a %d}" if range_key == "week" else f"{day:%d}"
        ticks.append(Tick(label, scale.pos(instant)))
        day += timedelta(days=1)
    return ticks


def timeline_build(
    definition: ScheduleDefinition,
    *,
    range_key: str,
    day: date,
    zone: str,
    now: datetime,
    swap_override_ids: set[int] | None = None,
) -> Timeline:
    """The timeline of ``definition`` over the range (``RANGES``) containing local ``day``
    in ``zone`` (the schedule's or the viewer's)."""
    if range_key not in RANGES:
        range_key = "week"
    tz = ZoneInfo(zone)
    first = range_first_day(range_key, day)
    last, previous, following = range_bounds(range_key, first)
    start = localize(datetime.combine(first, time()), tz)
    end = localize(datetime.combine(last, time()), tz)
    scale = _Scale(start, end, tz)
    rows = [
        *_layer_rows(definition, scale),
        _override_row(definition, scale, swap_override_ids or set()),
        _time_off_row(definition, scale),
        _final_row(definition, scale, now),
    ]
    holidays = []
    for a, b in holiday_spans(definition.holidays, definition.tz, start, end):
        bar = scale.bar("holiday", a, b, "holiday", "business-hours layers do not apply")
        if bar:
            holidays.append(bar)
    return Timeline(
        range=range_key,
        first_day=first,
        start=start,
        end=end,
        zone=zone,
        rows=rows,
        ticks=_ticks(range_key, first, last, scale),
        holidays=holidays,
        now_left=scale.pos(now) if start <= now < end else None,
        previous_day=previous,
        next_day=following,
    )


def local_today(now: datetime, zone: str) -> date:
    return to_local_naive(now, ZoneInfo(zone)).date()
