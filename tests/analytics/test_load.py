"""On-call load: hours from the schedules resolver, holiday hours, interruption classes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from analytics.load import oncall_load
from schedules import services
from schedules.models import Holiday, HolidayCalendar
from tests.analytics.conftest import make_incident, page
from tests.factories import EngineerFactory, MembershipFactory, TeamFactory
from tests.paging.factories import ServiceFactory

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # Monday 09:00 Berlin: the first handoff


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def rotation():
    team = TeamFactory()
    alice = EngineerFactory(display_name="Alice", time_zone="Europe/Berlin")
    bob = EngineerFactory(display_name="Bob", time_zone="America/New_York")
    for e in (alice, bob):
        MembershipFactory(team=team, engineer=e)
    with time_machine.travel(T0 - timedelta(days=1), tick=False):
        # Holidays apply from when they are added (schedules/README.md), so add it first.
        calendar = HolidayCalendar.objects.create(name="DE")
        Holiday.objects.create(calendar=calendar, date=date(2026, 1, 6), name="Epiphany")
        schedule = services.schedule_create(
            team=team, name="Primary", time_zone="Europe/Berlin", holiday_calendars=[calendar]
        )
        services.layer_create(
            schedule=schedule, name="Weekly", start_date=date(2026, 1, 5), members=[alice, bob]
        )
    return team, alice, bob


def test_hours_on_call_and_holiday_hours(rotation):
    team, alice, bob = rotation
    rows = {
        r["engineer_name"]: r
        for r in oncall_load(start=T0, end=T0 + timedelta(days=14), team=team.pk)
    }
    # Weekly handoff: Alice the first week, Bob the second; 6 Jan is a holiday (24 h local).
    assert rows["Alice"]["oncall_hours"] == 168.0
    assert rows["Alice"]["holiday_hours"] == 24.0
    assert rows["Bob"]["oncall_hours"] == 168.0
    assert rows["Bob"]["holiday_hours"] == 0.0
    # Clipped to the period: half a day.
    [row] = oncall_load(start=T0, end=T0 + timedelta(hours=12), engineer=alice.pk)
    assert row["oncall_hours"] == 12.0


def test_interruption_classes_at_their_boundaries(rotation):
    _team, alice, _bob = rotation
    incident = make_incident(ServiceFactory(), created=T0)
    sends = [
        local(2026, 1, 5, 7, 59),  # Monday 07:59 -> sleep
        local(2026, 1, 5, 8, 0),  # 08:00 -> business
        local(2026, 1, 5, 17, 59),  # 17:59 -> business
        local(2026, 1, 5, 18, 0),  # 18:00 -> off hours
        local(2026, 1, 5, 21, 59),  # 21:59 -> off hours
        local(2026, 1, 5, 22, 0),  # 22:00 -> sleep
        local(2026, 1, 10, 10, 0),  # Saturday 10:00 -> off hours
        local(2026, 1, 10, 23, 0),  # Saturday 23:00 -> sleep
    ]
    for at in sends:
        page(incident, kind="sms", status="delivered", sent=None, engineer=alice, at=at)
    # Not interruptions: a failed and a cancelled page.
    page(incident, kind="voice", status="failed", sent=None, engineer=alice, at=sends[1])
    page(incident, kind="email", status="cancelled", sent=None, engineer=alice, at=sends[1])
    [row] = oncall_load(
        start=local(2026, 1, 5, 0, 0), end=local(2026, 1, 12, 0, 0), engineer=alice.pk
    )
    assert row["pages"] == 8
    assert row["interruptions_business"] == 2
    assert row["interruptions_off_hours"] == 3
    assert row["interruptions_sleep"] == 3


def test_interruptions_use_each_engineers_own_time_zone(rotation):
    _team, alice, bob = rotation
    incident = make_incident(ServiceFactory(), created=T0)
    at = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)  # 15:00 Berlin (business), 09:00 New York
    late = datetime(2026, 1, 6, 3, 30, tzinfo=UTC)  # 04:30 Berlin (sleep), 22:30 NY (sleep)
    eve = datetime(2026, 1, 5, 23, 30, tzinfo=UTC)  # 00:30 Berlin (sleep), 18:30 NY (off)
    for who in (alice, bob):
        for when in (at, late, eve):
            page(incident, kind="sms", status="sent", sent=None, engineer=who, at=when)
    rows = {
        r["engineer_name"]: r
        for r in oncall_load(start=T0, end=T0 + timedelta(days=2), team=_team.pk)
    }
    classes = ("interruptions_business", "interruptions_off_hours", "interruptions_sleep")
    assert [rows["Alice"][k] for k in classes] == [1, 0, 2]
    assert [rows["Bob"][k] for k in classes] == [1, 1, 1]
    assert rows["Bob"]["time_zone"] == "America/New_York"
