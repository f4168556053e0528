"""Property tests: random layers, restrictions, overrides, time off and holidays.

For every generated definition: shifts are ordered and never overlap, nobody is on
call during their own time off, ``oncall_at`` agrees with ``resolve`` at sampled
instants, and both agree with a brute-force point oracle written from the rules.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedules.resolver import (
    LayerDef,
    LayerVersionDef,
    OverrideDef,
    RestrictionDef,
    ScheduleDefinition,
    TimeOffDef,
    localize,
    oncall_at,
    resolve,
    rotation_slots,
    to_local_naive,
)

ZONES = ["UTC", "Europe/Berlin", "America/New_York"]
WINDOW_START = datetime(2026, 3, 1, tzinfo=UTC)
WINDOW_END = datetime(2026, 4, 5, tzinfo=UTC)
ENGINEERS = [1, 2, 3, 4, 5]

instants = st.builds(
    lambda h, m: WINDOW_START + timedelta(hours=h, minutes=m),
    st.integers(0, 35 * 24),
    st.sampled_from([0, 30]),
)
clock = st.sampled_from([time(0), time(2), time(2, 30), time(9), time(17), time(22)])


@st.composite
def spans(draw):
    start = draw(instants)
    return start, start + timedelta(hours=draw(st.integers(1, 96)))


@st.composite
def restriction(draw):
    return RestrictionDef(
        weekdays=frozenset(draw(st.sets(st.integers(0, 6), min_size=1))),
        start=draw(clock),
        end=draw(clock),
        business_hours=draw(st.booleans()),
    )


@st.composite
def version(draw, tz, effective_from):
    return LayerVersionDef(
        effective_from=effective_from,
        members=tuple(draw(st.lists(st.sampled_from(ENGINEERS), min_size=1, max_size=4))),
        start_date=date(2026, 2, 20) + timedelta(days=draw(st.integers(0, 15))),
        handoff_time=draw(clock),
        shift_length=draw(st.integers(1, 3)),
        shift_unit=draw(st.sampled_from(["hours", "days", "weeks"])),
        restrictions=tuple(draw(st.lists(restriction(), max_size=2))),
        time_zone=tz,
        active=draw(st.booleans()) if effective_from > WINDOW_START - timedelta(days=400) else True,
    )


@st.composite
def definitions(draw):
    tz = draw(st.sampled_from(ZONES))
    layers = []
    for layer_id in range(1, draw(st.integers(1, 3)) + 1):
        first = draw(version(tz, datetime(2020, 1, 1, tzinfo=UTC)))
        versions = [first]
        if draw(st.booleans()):
            versions.append(draw(version(tz, draw(instants))))
        layers.append(
            LayerDef(
                id=layer_id,
                name=f"L{layer_id}",
                level=draw(st.integers(0, 3)),
                versions=tuple(versions),
            )
        )
    overrides = []
    for i in range(draw(st.integers(0, 4))):
        start, end = draw(spans())
        overrides.append(
            OverrideDef(
                id=i + 1,
                engineer_id=draw(st.sampled_from(ENGINEERS)),
                start=start,
                end=end,
                created_at=WINDOW_START - timedelta(days=draw(st.integers(0, 10))),
                replace_engineer_id=draw(st.none() | st.sampled_from(ENGINEERS)),
            )
        )
    time_off = []
    for _ in range(draw(st.integers(0, 4))):
        start, end = draw(spans())
        time_off.append(TimeOffDef(draw(st.sampled_from(ENGINEERS)), start, end))
    holidays = frozenset(
        date(2026, 3, 1) + timedelta(days=d) for d in draw(st.lists(st.integers(0, 34), max_size=2))
    )
    return ScheduleDefinition(
        id=1,
        name="S",
        time_zone=tz,
        layers=layers,
        overrides=overrides,
        time_off=time_off,
        holidays=holidays,
    )


# --- a brute-force oracle for one instant ------------------------------------------


def _off(d: ScheduleDefinition, engineer: int, t: datetime) -> bool:
    return any(o.engineer_id == engineer and o.start <= t < o.end for o in d.time_off)


def _in_window(v: LayerVersionDef, d: ScheduleDefinition, t: datetime) -> bool:
    if not v.restrictions:
        return True
    tz = ZoneInfo(v.time_zone)
    holiday_today = to_local_naive(t, ZoneInfo(d.time_zone)).date() in d.holidays
    local_day = to_local_naive(t, tz).date()
    for r in v.restrictions:
        if r.business_hours and holiday_today:
            continue
        for day in (local_day - timedelta(days=1), local_day):
            if day.weekday() not in r.weekdays:
                continue
            end_day = day if r.end > r.start else day + timedelta(days=1)
            w_start = localize(datetime.combine(day, r.start), tz)
            w_end = localize(datetime.combine(end_day, r.end), tz)
            if w_start <= t < w_end:
                return True
    return False


def _layer_at(layer: LayerDef, d: ScheduleDefinition, t: datetime) -> int | None:
    current = [v for v in layer.versions if v.effective_from <= t]
    if not current:
        return None
    v = current[-1]
    if not v.active or not _in_window(v, d, t):
        return None
    slots = list(rotation_slots(v, t, t + timedelta(microseconds=1)))
    if not slots:
        return None
    k = slots[0][0]
    n = len(v.members)
    for j in range(n):
        candidate = v.members[(k + j) % n]
        if not _off(d, candidate, t):
            return candidate
    return None


def oracle(d: ScheduleDefinition, t: datetime) -> list[int]:
    current = None
    for layer in sorted(d.layers, key=lambda la: (-la.level, la.id)):
        current = _layer_at(layer, d, t)
        if current is not None:
            break
    for o in sorted(d.overrides, key=lambda o: (o.created_at, o.id)):
        applies = o.replace_engineer_id is None or o.replace_engineer_id == current
        if o.start <= t < o.end and not _off(d, o.engineer_id, t) and applies:
            current = o.engineer_id
    return [] if current is None else [current]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definitions(), st.lists(instants, min_size=5, max_size=15))
def test_resolver_properties(definition, samples):
    shifts = resolve(definition, WINDOW_START, WINDOW_END)
    for a, b in zip(shifts, shifts[1:], strict=False):
        assert a.end <= b.start, "shifts overlap or are out of order"
    for s in shifts:
        assert WINDOW_START <= s.start < s.end <= WINDOW_END
        assert not any(
            o.engineer_id == s.engineer_id and o.start < s.end and s.start < o.end
            for o in definition.time_off
        ), "an engineer is on call during their time off"
    boundaries = [s.start for s in shifts] + [s.end - timedelta(minutes=1) for s in shifts]
    for t in list(samples) + boundaries[:20]:
        if not WINDOW_START <= t < WINDOW_END:
            continue
        from_list = [s.engineer_id for s in shifts if s.start <= t < s.end]
        assert oncall_at(definition, t) == from_list
        assert from_list == oracle(definition, t), t
