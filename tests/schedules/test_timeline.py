"""The timeline layout (pure) and the edit-impact functions, on hand-built definitions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from schedules.edit_impact import layer_edit_impact, layer_next_handoff
from schedules.resolver import (
    HolidayDef,
    LayerDef,
    LayerVersionDef,
    OverrideDef,
    RestrictionDef,
    ScheduleDefinition,
    TimeOffDef,
)
from schedules.timeline import colour_of, timeline_build
from schedules.zoned import local_instant

BERLIN = "Europe/Berlin"
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def _definition(**kw) -> ScheduleDefinition:
    version = LayerVersionDef(
        effective_from=EPOCH,
        members=(1, 2),
        start_date=date(2026, 3, 2),
        handoff_time=time(9),
        shift_unit="days",
        time_zone=BERLIN,
        restrictions=(RestrictionDef(frozenset(range(5)), time(9), time(17), True),),
    )
    return ScheduleDefinition(
        id=7,
        name="Primary",
        time_zone=BERLIN,
        layers=[LayerDef(id=3, name="Days", level=0, versions=(version,))],
        names={1: "Alice", 2: "Bob", 3: "Carol"},
        **kw,
    )


def _row(tl, kind):
    return next(r for r in tl.rows if r.kind == kind)


def test_a_month_has_a_row_per_layer_overrides_time_off_and_final():
    override = OverrideDef(
        id=1,
        engineer_id=3,
        start=datetime(2026, 3, 10, 17, tzinfo=UTC),
        end=datetime(2026, 3, 11, 8, tzinfo=UTC),
        created_at=EPOCH,
    )
    off = TimeOffDef(2, datetime(2026, 3, 16, tzinfo=UTC), datetime(2026, 3, 18, tzinfo=UTC))
    definition = _definition(
        overrides=[override], time_off=[off], holidays=frozenset({HolidayDef(date(2026, 3, 19))})
    )
    now = datetime(2026, 3, 12, 12, tzinfo=UTC)
    tl = timeline_build(
        definition, range_key="month", day=date(2026, 3, 12), zone=BERLIN, now=now,
        swap_override_ids={1},
    )  # fmt: skip
    assert tl.first_day == date(2026, 3, 1) and tl.next_day == date(2026, 4, 1)
    assert tl.previous_day == date(2026, 2, 1)
    assert [r.kind for r in tl.rows] == ["layer", "overrides", "off", "final"]
    assert len(tl.ticks) == 31
    # The layer row is the rotation before restrictions: whole days, one a day from 2 March.
    layer = _row(tl, "layer").bars
    assert layer[0].label == "Alice" and layer[0].start == datetime(2026, 3, 2, 8, tzinfo=UTC)
    assert layer[0].end - layer[0].start == timedelta(days=1)
    assert {b.colour for b in layer} == {colour_of(1), colour_of(2)}
    swap = _row(tl, "overrides").bars[0]
    assert swap.label == "Carol" and "swap" in swap.title
    assert _row(tl, "off").bars[0].label == "Bob off"
    # Final: gaps only after now (12 March 13:00 Berlin), none before.
    final = _row(tl, "final").bars
    gaps = [b for b in final if b.kind == "gap"]
    assert gaps and all(g.start >= now for g in gaps)
    assert any(b.kind == "shift" and b.end <= now for b in final)
    assert [h.start for h in tl.holidays] == [datetime(2026, 3, 18, 23, tzinfo=UTC)]
    # Positions are shares of the real month: 29 March is 23 h long in Berlin.
    assert tl.end - tl.start == timedelta(hours=743)
    assert tl.now_left == pytest.approx(100 * (now - tl.start) / (tl.end - tl.start), abs=0.01)
    for row in tl.rows:
        for bar in row.bars:
            assert 0 <= bar.left <= 100 and 0 < bar.left + bar.width <= 100.001


def test_a_day_in_the_viewers_zone_and_a_past_range_without_gaps():
    definition = _definition()
    now = datetime(2026, 4, 1, tzinfo=UTC)
    tl = timeline_build(
        definition, range_key="day", day=date(2026, 3, 3), zone="America/New_York", now=now
    )
    assert tl.start == datetime(2026, 3, 3, 5, tzinfo=UTC)  # midnight in New York
    assert [t.label for t in tl.ticks][:2] == ["00:00", "03:00"]
    assert tl.now_left is None
    assert not [b for b in _row(tl, "final").bars if b.kind == "gap"]


def test_next_handoff_and_the_impact_of_an_edit():
    definition = _definition()
    now = datetime(2026, 3, 3, 10, tzinfo=UTC)  # Tuesday 11:00 Berlin, Bob's day (k=1)
    handoff = layer_next_handoff(definition, layer_id=3, after=now)
    assert handoff == datetime(2026, 3, 4, 8, tzinfo=UTC)
    assert layer_next_handoff(definition, layer_id=99, after=now) == now
    old = definition.layers[0].versions[0]
    fields = {f: getattr(old, f) for f in ("start_date", "handoff_time", "shift_unit")}
    only_carol = LayerVersionDef(
        effective_from=now, members=(3,), time_zone=BERLIN, restrictions=old.restrictions,
        **fields,
    )  # fmt: skip
    impact = layer_edit_impact(
        definition, layer_id=3, name="Days", level=0, version=only_carol, now=now
    )
    assert impact.changes and impact.now
    assert impact.message() == (
        "On call now changes from Bob to Carol at Tue 03 Mar 2026, 11:00 CET (Europe/Berlin)."
    )
    same = LayerVersionDef(
        effective_from=handoff, members=(1, 2), time_zone=BERLIN, restrictions=old.restrictions,
        **fields,
    )  # fmt: skip
    assert not layer_edit_impact(
        definition, layer_id=3, name="Days", level=0, version=same, now=now
    ).changes


def test_local_times_that_do_not_exist_or_repeat_are_refused():
    from django.core.exceptions import ValidationError

    assert local_instant(datetime(2026, 11, 30, 18), BERLIN) == datetime(
        2026, 11, 30, 17, tzinfo=UTC
    )
    with pytest.raises(ValidationError, match="does not exist"):
        local_instant(datetime(2026, 3, 29, 2, 30), BERLIN)
    with pytest.raises(ValidationError, match="happens twice"):
        local_instant(datetime(2026, 10, 25, 2, 30), BERLIN)
