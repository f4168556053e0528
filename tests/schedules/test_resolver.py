"""The pure resolver: rotations, restrictions, layering, overrides, time off, holidays,
DST and versions. No database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from schedules.resolver import (
    LayerDef,
    LayerVersionDef,
    OverrideDef,
    RestrictionDef,
    ScheduleDefinition,
    TimeOffDef,
    localize,
    next_handoff,
    oncall_at,
    resolve,
    resolve_whole,
    shift_at,
)

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
A, B, C, D = 1, 2, 3, 4
NAMES = {A: "Alice", B: "Bob", C: "Carol", D: "Dave"}
WEEKDAYS = frozenset(range(5))
WEEKEND = frozenset({5, 6})


def version(members, start_date, *, tz="UTC", handoff=time(9), length=1, unit="weeks", **kw):
    return LayerVersionDef(
        effective_from=kw.pop("effective_from", EPOCH),
        members=tuple(members),
        start_date=start_date,
        handoff_time=handoff,
        shift_length=length,
        shift_unit=unit,
        time_zone=tz,
        **kw,
    )


def layer(id_, *versions, level=0, name=None):
    return LayerDef(id=id_, name=name or f"L{id_}", level=level, versions=tuple(versions))


def schedule(*layers, tz="UTC", **kw):
    return ScheduleDefinition(id=1, name="S", time_zone=tz, layers=list(layers), names=NAMES, **kw)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def local(tz, *args, fold=0):
    return datetime(*args, tzinfo=ZoneInfo(tz), fold=fold).astimezone(UTC)


def who(shifts):
    return [(s.engineer_id, s.start, s.end) for s in shifts]


# --- rotations --------------------------------------------------------------------


def test_weekly_rotation_hands_off_at_local_time():
    d = schedule(layer(1, version([A, B, C], date(2026, 1, 5))))
    shifts = resolve(d, utc(2026, 1, 5), utc(2026, 1, 27))
    assert who(shifts) == [
        (A, utc(2026, 1, 5, 9), utc(2026, 1, 12, 9)),
        (B, utc(2026, 1, 12, 9), utc(2026, 1, 19, 9)),
        (C, utc(2026, 1, 19, 9), utc(2026, 1, 26, 9)),
        (A, utc(2026, 1, 26, 9), utc(2026, 1, 27)),
    ]
    assert all(s.reason == "rotation: L1" and s.source == "layer:1" for s in shifts)


def test_daily_rotation_with_repeated_member():
    d = schedule(layer(1, version([A, A, B], date(2026, 1, 1), unit="days", handoff=time(0))))
    shifts = resolve(d, utc(2026, 1, 1), utc(2026, 1, 7))
    # A's two consecutive days merge into one shift.
    assert who(shifts) == [
        (A, utc(2026, 1, 1), utc(2026, 1, 3)),
        (B, utc(2026, 1, 3), utc(2026, 1, 4)),
        (A, utc(2026, 1, 4), utc(2026, 1, 6)),
        (B, utc(2026, 1, 6), utc(2026, 1, 7)),
    ]


def test_hourly_rotation_of_eight_hours():
    d = schedule(
        layer(1, version([A, B, C], date(2026, 1, 1), unit="hours", length=8, handoff=time(6)))
    )
    assert [s.engineer_id for s in resolve(d, utc(2026, 1, 1, 6), utc(2026, 1, 2, 6))] == [A, B, C]


def test_nothing_before_rotation_start_and_empty_range():
    d = schedule(layer(1, version([A], date(2026, 1, 5))))
    assert resolve(d, utc(2026, 1, 1), utc(2026, 1, 5, 9)) == []
    assert resolve(d, utc(2026, 1, 6), utc(2026, 1, 6)) == []
    with pytest.raises(ValueError):
        resolve(d, datetime(2026, 1, 1), datetime(2026, 1, 2))


# --- restrictions and layering ------------------------------------------------------


def business_and_after_hours(tz="UTC", business_hours_flag=True):
    day = layer(
        2,
        version(
            [A, B],
            date(2026, 1, 5),
            tz=tz,
            restrictions=(RestrictionDef(WEEKDAYS, time(9), time(17), business_hours_flag),),
        ),
        level=1,
        name="Day",
    )
    night = layer(1, version([C, D], date(2026, 1, 5), tz=tz), level=0, name="Night")
    return day, night


def test_restriction_mon_fri_9_17_cuts_layer():
    day, _ = business_and_after_hours()
    d = schedule(day)
    shifts = resolve(d, utc(2026, 1, 5), utc(2026, 1, 12))  # Mon..Sun
    assert who(shifts) == [(A, utc(2026, 1, d_, 9), utc(2026, 1, d_, 17)) for d_ in range(5, 10)]


def test_weekend_all_day_restriction():
    weekend = layer(
        1,
        version([B], date(2026, 1, 5), restrictions=(RestrictionDef(WEEKEND, time(0), time(0)),)),
    )
    shifts = resolve(schedule(weekend), utc(2026, 1, 5), utc(2026, 1, 12))
    assert who(shifts) == [(B, utc(2026, 1, 10), utc(2026, 1, 12))]


def test_overnight_window_ends_next_day():
    nights = layer(
        1,
        version(
            [B], date(2026, 1, 5), restrictions=(RestrictionDef(frozenset({0}), time(22), time(6)),)
        ),
    )
    assert who(resolve(schedule(nights), utc(2026, 1, 5), utc(2026, 1, 12))) == [
        (B, utc(2026, 1, 5, 22), utc(2026, 1, 6, 6))
    ]


def test_higher_layer_wins_lower_fills_rest_and_gaps_stay_empty():
    day, night = business_and_after_hours()
    d = schedule(day, night)
    shifts = resolve(d, utc(2026, 1, 5, 9), utc(2026, 1, 6, 9))
    assert who(shifts) == [
        (A, utc(2026, 1, 5, 9), utc(2026, 1, 5, 17)),
        (C, utc(2026, 1, 5, 17), utc(2026, 1, 6, 9)),
    ]
    # Only the restricted layer: evenings are a gap.
    assert oncall_at(schedule(day), utc(2026, 1, 5, 18)) == []
    assert shift_at(schedule(day), utc(2026, 1, 5, 18)) is None


# --- overrides --------------------------------------------------------------------


def ov(id_, eng, start, end, created, replace=None):
    return OverrideDef(id_, eng, start, end, created, replace)


def test_overrides_overlapping_latest_created_wins():
    base = layer(1, version([A], date(2026, 1, 5)))
    d = schedule(
        base,
        overrides=[
            ov(2, C, utc(2026, 1, 6, 12), utc(2026, 1, 6, 18), utc(2026, 1, 2)),
            ov(1, B, utc(2026, 1, 6, 10), utc(2026, 1, 6, 14), utc(2026, 1, 1)),
        ],
    )
    shifts = resolve(d, utc(2026, 1, 6, 9), utc(2026, 1, 6, 20))
    assert who(shifts) == [
        (A, utc(2026, 1, 6, 9), utc(2026, 1, 6, 10)),
        (B, utc(2026, 1, 6, 10), utc(2026, 1, 6, 12)),
        (C, utc(2026, 1, 6, 12), utc(2026, 1, 6, 18)),
        (A, utc(2026, 1, 6, 18), utc(2026, 1, 6, 20)),
    ]
    assert shifts[1].source == "override:1" and shifts[1].reason == "override"


def test_override_covers_a_gap():
    day, _ = business_and_after_hours()
    d = schedule(day, overrides=[ov(1, D, utc(2026, 1, 5, 20), utc(2026, 1, 5, 22), EPOCH)])
    assert oncall_at(d, utc(2026, 1, 5, 21)) == [D]


def test_replace_override_takes_only_the_named_engineers_stretches():
    day, night = business_and_after_hours()
    d = schedule(
        day,
        night,
        overrides=[ov(7, D, utc(2026, 1, 5), utc(2026, 1, 7), EPOCH, replace=A)],
    )
    shifts = resolve(d, utc(2026, 1, 5, 9), utc(2026, 1, 6, 9))
    assert who(shifts) == [
        (D, utc(2026, 1, 5, 9), utc(2026, 1, 5, 17)),
        (C, utc(2026, 1, 5, 17), utc(2026, 1, 6, 9)),
    ]
    assert shifts[0].reason == "override replacing Alice" and shifts[0].substitute_for == A


# --- time off ---------------------------------------------------------------------


def test_time_off_mid_shift_gives_stretch_to_next_member():
    d = schedule(
        layer(1, version([A, B, C], date(2026, 1, 5))),
        time_off=[TimeOffDef(A, utc(2026, 1, 7), utc(2026, 1, 9))],
    )
    shifts = resolve(d, utc(2026, 1, 5, 9), utc(2026, 1, 12, 9))
    assert who(shifts) == [
        (A, utc(2026, 1, 5, 9), utc(2026, 1, 7)),
        (B, utc(2026, 1, 7), utc(2026, 1, 9)),
        (A, utc(2026, 1, 9), utc(2026, 1, 12, 9)),
    ]
    assert shifts[1].reason == "substituting for Alice" and shifts[1].substitute_for == A


def test_time_off_skips_members_also_off():
    d = schedule(
        layer(1, version([A, B, C], date(2026, 1, 5))),
        time_off=[
            TimeOffDef(A, utc(2026, 1, 6), utc(2026, 1, 8)),
            TimeOffDef(B, utc(2026, 1, 6), utc(2026, 1, 7)),
        ],
    )
    shifts = resolve(d, utc(2026, 1, 6), utc(2026, 1, 8))
    assert who(shifts) == [
        (C, utc(2026, 1, 6), utc(2026, 1, 7)),
        (B, utc(2026, 1, 7), utc(2026, 1, 8)),
    ]
    assert {s.substitute_for for s in shifts} == {A}


def test_everyone_off_is_a_gap_and_lower_layer_fills_it():
    top = layer(2, version([A, B], date(2026, 1, 5)), level=1)
    offs = [TimeOffDef(e, utc(2026, 1, 6), utc(2026, 1, 7)) for e in (A, B)]
    assert oncall_at(schedule(top, time_off=offs), utc(2026, 1, 6, 12)) == []
    bottom = layer(1, version([C], date(2026, 1, 5)), level=0)
    assert oncall_at(schedule(top, bottom, time_off=offs), utc(2026, 1, 6, 12)) == [C]


def test_override_engineer_on_time_off_is_not_put_on_call():
    d = schedule(
        layer(1, version([A], date(2026, 1, 5))),
        overrides=[ov(1, B, utc(2026, 1, 6), utc(2026, 1, 8), EPOCH)],
        time_off=[TimeOffDef(B, utc(2026, 1, 7), utc(2026, 1, 9))],
    )
    assert oncall_at(d, utc(2026, 1, 6, 12)) == [B]
    assert oncall_at(d, utc(2026, 1, 7, 12)) == [A]


# --- holidays ---------------------------------------------------------------------


def test_business_hours_restriction_does_not_apply_on_holidays():
    day, night = business_and_after_hours(tz=BERLIN)
    holiday = date(2026, 1, 6)  # a Tuesday
    d = schedule(day, night, tz=BERLIN, holidays=frozenset({holiday}))
    assert oncall_at(d, local(BERLIN, 2026, 1, 5, 12)) == [A]
    assert oncall_at(d, local(BERLIN, 2026, 1, 6, 12)) == [C]  # the after-hours layer
    shifts = resolve(d, local(BERLIN, 2026, 1, 6), local(BERLIN, 2026, 1, 7))
    assert all(s.holiday for s in shifts)
    assert sum((s.duration for s in shifts), timedelta()) == timedelta(hours=24)
    # A plain (not business-hours) restriction still applies on holidays.
    day2, night2 = business_and_after_hours(tz=BERLIN, business_hours_flag=False)
    d2 = schedule(day2, night2, tz=BERLIN, holidays=frozenset({holiday}))
    assert oncall_at(d2, local(BERLIN, 2026, 1, 6, 12)) == [A]


def test_holiday_hours_are_flagged_and_split_at_midnight():
    d = schedule(layer(1, version([A], date(2026, 1, 5))), holidays=frozenset({date(2026, 1, 7)}))
    shifts = resolve(d, utc(2026, 1, 6), utc(2026, 1, 9))
    assert [(s.start, s.end, s.holiday) for s in shifts] == [
        (utc(2026, 1, 6), utc(2026, 1, 7), False),
        (utc(2026, 1, 7), utc(2026, 1, 8), True),
        (utc(2026, 1, 8), utc(2026, 1, 9), False),
    ]


# --- DST --------------------------------------------------------------------------

# (zone, spring-forward date, fall-back date)
DST = [
    (BERLIN, date(2026, 3, 29), date(2026, 10, 25)),
    (NEW_YORK, date(2026, 3, 8), date(2026, 11, 1)),
]


@pytest.mark.parametrize(("tz", "spring", "autumn"), DST)
def test_daily_09_handoff_stays_local_and_24h_shift_is_23h_and_25h(tz, spring, autumn):
    for change, hours in ((spring, 23), (autumn, 25)):
        d = schedule(
            layer(
                1, version([A, B], change - timedelta(days=3), tz=tz, unit="days", handoff=time(0))
            ),
            tz=tz,
        )
        day = datetime.combine(change, time())
        shift = shift_at(d, localize(day + timedelta(hours=12), ZoneInfo(tz)))
        assert shift.duration == timedelta(hours=hours)
        d9 = schedule(
            layer(1, version([A, B], change - timedelta(days=3), tz=tz, unit="days")), tz=tz
        )
        starts = [
            s.start.astimezone(ZoneInfo(tz)).time()
            for s in resolve(
                d9,
                localize(day - timedelta(days=2), ZoneInfo(tz)),
                localize(day + timedelta(days=3), ZoneInfo(tz)),
            )[1:]
        ]
        assert starts and set(starts) == {time(9)}


@pytest.mark.parametrize(("tz", "spring", "autumn"), DST)
def test_weekly_handoff_across_dst_is_local(tz, spring, autumn):
    for change in (spring, autumn):
        d = schedule(layer(1, version([A, B], change - timedelta(days=14), tz=tz)), tz=tz)
        shifts = resolve(
            d,
            localize(datetime.combine(change - timedelta(days=10), time()), ZoneInfo(tz)),
            localize(datetime.combine(change + timedelta(days=20), time()), ZoneInfo(tz)),
        )
        inner = shifts[1:-1]
        assert {s.start.astimezone(ZoneInfo(tz)).time() for s in inner} == {time(9)}
        lengths = sorted({s.duration for s in inner})
        assert lengths[0] in (timedelta(days=7) - timedelta(hours=1), timedelta(days=7))


@pytest.mark.parametrize(("tz", "spring", "autumn"), DST)
def test_hourly_rotation_across_dst(tz, spring, autumn):
    z = ZoneInfo(tz)
    d = schedule(
        layer(
            1, version([A, B, C], spring - timedelta(days=1), tz=tz, unit="hours", handoff=time(0))
        ),
        tz=tz,
    )
    day = datetime.combine(spring, time())
    shifts = resolve(d, localize(day, z), localize(day + timedelta(days=1), z))
    # The local day has 23 hours; the 02:00 slot does not exist and is skipped.
    assert sum((s.duration for s in shifts), timedelta()) == timedelta(hours=23)
    assert all(s.duration == timedelta(hours=1) for s in shifts)
    assert len(shifts) == 23
    # Autumn: the ambiguous 01:00/02:00 hour belongs to the first occurrence's slot.
    d2 = schedule(
        layer(
            1, version([A, B, C], autumn - timedelta(days=1), tz=tz, unit="hours", handoff=time(0))
        ),
        tz=tz,
    )
    day2 = datetime.combine(autumn, time())
    shifts2 = resolve(d2, localize(day2, z), localize(day2 + timedelta(days=1), z))
    assert sum((s.duration for s in shifts2), timedelta()) == timedelta(hours=25)
    assert sorted(s.duration for s in shifts2)[-1] == timedelta(hours=2)


@pytest.mark.parametrize("tz", [BERLIN, NEW_YORK])
def test_handoff_at_0230_nonexistent_and_ambiguous(tz):
    z = ZoneInfo(tz)
    spring, autumn = {
        BERLIN: (date(2026, 3, 29), date(2026, 10, 25)),
        NEW_YORK: (date(2026, 3, 8), date(2026, 11, 1)),
    }[tz]
    d = schedule(
        layer(
            1, version([A, B], spring - timedelta(days=2), tz=tz, unit="days", handoff=time(2, 30))
        ),
        tz=tz,
    )
    shifts = resolve(
        d,
        localize(datetime.combine(spring, time()), z),
        localize(datetime.combine(spring, time(12)), z),
    )
    # 02:30 does not exist that night: the handoff is read with the pre-gap offset,
    # i.e. 03:30 local daylight time (RFC 5545 §3.3.5).
    handoff = shifts[1].start.astimezone(z)
    assert (handoff.hour, handoff.minute) == (3, 30)
    assert shifts[0].duration < shifts[1].duration
    # Autumn: 02:30 (New York: 01:30 is ambiguous; Berlin: 02:30) -> first occurrence.
    amb = time(2, 30) if tz == BERLIN else time(1, 30)
    d2 = schedule(
        layer(1, version([A, B], autumn - timedelta(days=2), tz=tz, unit="days", handoff=amb)),
        tz=tz,
    )
    shifts2 = resolve(
        d2,
        localize(datetime.combine(autumn, time()), z),
        localize(datetime.combine(autumn, time(12)), z),
    )
    expected = datetime.combine(autumn, amb).replace(tzinfo=z, fold=0).astimezone(UTC)
    assert shifts2[1].start == expected
    assert (
        expected.astimezone(z).utcoffset()
        > datetime.combine(autumn, amb).replace(tzinfo=z, fold=1).utcoffset()
    )


def test_restriction_window_across_dst_is_local():
    d = schedule(
        layer(
            1,
            version(
                [A],
                date(2026, 3, 23),
                tz=BERLIN,
                restrictions=(RestrictionDef(frozenset(range(7)), time(9), time(17)),),
            ),
        ),
        tz=BERLIN,
    )
    for s in resolve(d, local(BERLIN, 2026, 3, 27), local(BERLIN, 2026, 4, 1)):
        loc = (
            s.start.astimezone(ZoneInfo(BERLIN)).time(),
            s.end.astimezone(ZoneInfo(BERLIN)).time(),
        )
        assert loc == (time(9), time(17))


# --- versions: edits never rewrite the past ---------------------------------------


def test_new_version_changes_only_the_future():
    v1 = version([A, B], date(2026, 1, 5))
    edit_at = utc(2026, 1, 14, 12)
    v2 = version([C, D], date(2026, 1, 5), effective_from=edit_at)
    before = resolve(schedule(layer(1, v1)), utc(2026, 1, 5), edit_at)
    after = schedule(layer(1, v1, v2))
    assert resolve(after, utc(2026, 1, 5), edit_at) == before
    assert oncall_at(after, edit_at) == [D]  # week 2 of the rotation -> second member
    # Deleting the layer (an inactive version) leaves a gap from then on.
    gone = schedule(
        layer(1, v1, LayerVersionDef(**{**_fields(v1), "effective_from": edit_at, "active": False}))
    )
    assert resolve(gone, utc(2026, 1, 5), edit_at) == before
    assert oncall_at(gone, edit_at + timedelta(hours=1)) == []


def _fields(v: LayerVersionDef) -> dict:
    return {name: getattr(v, name) for name in LayerVersionDef.__slots__}


def test_next_handoff():
    v = version([A, B], date(2026, 1, 5))
    assert next_handoff(v, utc(2026, 1, 7)) == utc(2026, 1, 12, 9)
    assert next_handoff(v, utc(2026, 1, 12, 9)) == utc(2026, 1, 12, 9)


def test_oncall_at_agrees_with_shift_list_in_two_zones():
    day, night = business_and_after_hours(tz=NEW_YORK)
    d = schedule(day, night, tz=NEW_YORK)
    start = utc(2026, 3, 1)
    shifts = resolve(d, start, start + timedelta(days=14))
    for s in shifts:
        assert oncall_at(d, s.start) == [s.engineer_id]
        assert oncall_at(d, s.end - timedelta(seconds=1)) == [s.engineer_id]


def test_resolve_whole_gives_the_shift_at_the_window_start_its_real_start():
    weekly = schedule(layer(1, version([A, B], date(2025, 1, 6))))
    start = utc(2026, 3, 5, 20)
    whole = resolve_whole(weekly, start, start + timedelta(days=30))
    assert whole[0].start == utc(2026, 3, 2, 9) and whole[0].end == utc(2026, 3, 9, 9)
    assert whole[1:] == resolve(weekly, start, start + timedelta(days=30))[1:]
    # One member for a year and a half is one shift: looked back past 1, 4, 16... weeks.
    alone = schedule(layer(1, version([A], date(2025, 1, 6))))
    assert resolve_whole(alone, start, start + timedelta(days=1))[0].start == utc(2025, 1, 6, 9)
    # A shift starting inside the window is left alone; a gap at the start too.
    assert resolve_whole(weekly, utc(2026, 3, 2, 9), utc(2026, 3, 3)) == resolve(
        weekly, utc(2026, 3, 2, 9), utc(2026, 3, 3)
    )
    assert resolve_whole(weekly, utc(2024, 1, 1), utc(2025, 1, 7))[0].start == utc(2025, 1, 6, 9)
