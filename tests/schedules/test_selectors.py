"""The loader and the paging engine's contract: oncall_engineer_ids."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine

from schedules import services
from schedules.models import Holiday, HolidayCalendar
from schedules.selectors import engineer_shifts, oncall_engineer_ids, schedule_definition
from tests.factories import EngineerFactory, TeamFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # a Monday, before the 09:00 handoff


@pytest.fixture
def cast():
    team = TeamFactory()
    alice, bob, carol = (EngineerFactory(display_name=n) for n in ("Alice", "Bob", "Carol"))
    with time_machine.travel(T0, tick=False):
        schedule = services.schedule_create(team=team, name="Primary", time_zone="Europe/Berlin")
        layer = services.layer_create(
            schedule=schedule,
            name="Weekly",
            start_date=date(2026, 1, 5),
            members=[alice, bob],
            shift_unit="weeks",
        )
    return schedule, layer, alice, bob, carol


def test_oncall_engineer_ids_follows_rotation_and_gaps(cast):
    schedule, _layer, alice, bob, _carol = cast
    # Rotation starts 2026-01-05 09:00 Berlin = 08:00 UTC: before it, nobody.
    assert oncall_engineer_ids(schedule_id=schedule.id, at=T0 - timedelta(minutes=1)) == []
    assert oncall_engineer_ids(schedule_id=schedule.id, at=T0) == [alice.id]
    assert oncall_engineer_ids(schedule_id=schedule.id, at=T0 + timedelta(days=7)) == [bob.id]
    assert oncall_engineer_ids(schedule_id=schedule.id, at=T0 + timedelta(days=14)) == [alice.id]


def test_override_and_time_off_through_the_database(cast):
    schedule, _layer, alice, bob, carol = cast
    with time_machine.travel(T0, tick=False):
        services.override_create(
            schedule=schedule,
            engineer=carol,
            start=T0 + timedelta(days=1),
            end=T0 + timedelta(days=2),
        )
        services.time_off_create(
            engineer=alice, start=T0 + timedelta(days=3), end=T0 + timedelta(days=4)
        )
    at = T0 + timedelta(days=1, hours=1)
    assert oncall_engineer_ids(schedule_id=schedule.id, at=at) == [carol.id]
    assert oncall_engineer_ids(schedule_id=schedule.id, at=T0 + timedelta(days=3, hours=2)) == [
        bob.id
    ]


def test_edit_keeps_past_shifts(cast):
    schedule, layer, alice, bob, carol = cast
    edit_at = T0 + timedelta(days=3)
    with time_machine.travel(edit_at, tick=False):
        services.layer_update(layer=layer, members=[carol])
    assert oncall_engineer_ids(schedule_id=schedule.id, at=T0 + timedelta(days=1)) == [alice.id]
    assert oncall_engineer_ids(schedule_id=schedule.id, at=edit_at + timedelta(hours=1)) == [
        carol.id
    ]
    # Editing from a past moment is refused.
    from django.core.exceptions import ValidationError

    with time_machine.travel(edit_at, tick=False), pytest.raises(ValidationError):
        services.layer_update(layer=layer, members=[bob], effective_from=T0)


def test_definition_loads_in_fixed_queries(cast, django_assert_num_queries):
    schedule, layer, alice, bob, carol = cast
    cal = HolidayCalendar.objects.create(name="DE")
    Holiday.objects.create(calendar=cal, date=date(2026, 1, 6), name="Epiphany")
    services.schedule_calendar_attach(schedule=schedule, calendar=cal)
    with time_machine.travel(T0, tick=False):
        for i in range(5):
            services.override_create(
                schedule=schedule,
                engineer=carol,
                start=T0 + timedelta(days=i),
                end=T0 + timedelta(days=i, hours=1),
            )
            services.layer_update(
                layer=layer,
                effective_from=T0 + timedelta(days=i + 1),
                handoff_time=time(10),
            )
    with django_assert_num_queries(6):
        definition = schedule_definition(schedule.id)
    assert len(definition.overrides) == 5
    assert {h.day for h in definition.holidays} == {date(2026, 1, 6)}
    assert definition.names[alice.id] == "Alice"


def test_engineer_shifts_lists_all_schedules(cast):
    schedule, _layer, alice, bob, _carol = cast
    with time_machine.travel(T0, tick=False):
        other = services.schedule_create(team=schedule.team, name="Secondary", time_zone="UTC")
        services.layer_create(
            schedule=other,
            name="Daily",
            start_date=date(2026, 1, 5),
            members=[alice],
            shift_unit="days",
        )
    pairs = engineer_shifts(engineer_id=alice.id, start=T0, end=T0 + timedelta(days=2))
    assert {sid for sid, _ in pairs} == {schedule.id, other.id}
    assert all(shift.engineer_id == alice.id for _, shift in pairs)


def test_edit_at_a_chosen_future_handoff(cast):
    schedule, layer, alice, bob, carol = cast
    from schedules.resolver import next_handoff
    from schedules.snapshots import version_def_from_row

    now = T0 + timedelta(days=2)
    handoff = next_handoff(version_def_from_row(layer.versions.last()), now)
    assert handoff == T0 + timedelta(days=7)
    with time_machine.travel(now, tick=False):
        services.layer_update(layer=layer, members=[carol], effective_from=handoff)
    # Until the handoff nothing changes; from it on, Carol.
    assert oncall_engineer_ids(schedule_id=schedule.id, at=handoff - timedelta(minutes=1)) == [
        alice.id
    ]
    assert oncall_engineer_ids(schedule_id=schedule.id, at=handoff) == [carol.id]
