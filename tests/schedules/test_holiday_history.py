"""Holiday edits never rewrite the past: a holiday applies at instant t iff
added_at <= t < removed_at, so adding or removing one changes only the future."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
import yaml
from django.test import Client
from rest_framework.test import APIClient

from analytics.load import oncall_load
from oncall.config.apply import config_apply, config_export
from schedules import services
from schedules.fairness import fairness_report
from schedules.holidays import holiday_calendar_import_ical
from schedules.models import Holiday, HolidayCalendar
from schedules.resolver import HolidayDef, resolve
from schedules.restriction_text import restrictions_parse
from schedules.selectors import oncall_engineer_ids, schedule_definition
from tests.factories import EngineerFactory, MembershipFactory, TeamFactory, UserFactory
from tests.schedules.test_resolver import A, B, layer, schedule, version

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # Monday; the schedule exists from here
DAY = date(2026, 1, 6)  # Tuesday: the day that becomes a holiday


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


@pytest.fixture
def cast():
    """Business-hours layer (Alice, Mon-Fri 09-17 business) over an all-day after-hours
    layer (Bob), in UTC, with an empty holiday calendar attached."""
    team = TeamFactory()
    alice = EngineerFactory(display_name="Alice")
    bob = EngineerFactory(display_name="Bob")
    for e in (alice, bob):
        MembershipFactory(team=team, engineer=e)
    with time_machine.travel(T0, tick=False):
        calendar = services.holiday_calendar_save(name="DE", holidays=[])
        sched = services.schedule_create(
            team=team, name="Primary", time_zone="UTC", holiday_calendars=[calendar]
        )
        services.layer_create(
            schedule=sched, name="After hours", level=0, start_date=T0.date(), members=[bob]
        )
        services.layer_create(
            schedule=sched,
            name="Business",
            level=1,
            start_date=T0.date(),
            members=[alice],
            shift_unit="days",
            restrictions=restrictions_parse("Mon-Fri 09:00-17:00 business"),
        )
    return sched, calendar, alice, bob


def spans(schedule_id: int, start: datetime, end: datetime) -> list[tuple]:
    shifts = resolve(schedule_definition(schedule_id), start, end)
    return [(s.engineer_id, s.start, s.end, s.holiday) for s in shifts]


def test_adding_and_removing_a_holiday_changes_only_the_future(cast):
    sched, calendar, alice, bob = cast
    t1, t2 = at(DAY, 12), at(DAY, 15)
    day_start, day_end = at(DAY, 0), at(DAY + timedelta(days=1), 0)
    before = spans(sched.pk, day_start, day_end)
    assert before == [
        (bob.pk, day_start, at(DAY, 9), False),
        (alice.pk, at(DAY, 9), at(DAY, 17), False),
        (bob.pk, at(DAY, 17), day_end, False),
    ]

    # T1, mid-day: the day becomes a holiday (and next Tuesday too) through the API path.
    with time_machine.travel(t1, tick=False):
        services.holiday_calendar_save(
            calendar=calendar,
            name="DE",
            holidays=[(DAY, "Epiphany"), (DAY + timedelta(days=7), "Next")],
        )
    with time_machine.travel(t1 + timedelta(hours=1), tick=False):
        assert spans(sched.pk, day_start, day_end) == [
            (bob.pk, day_start, at(DAY, 9), False),
            # The past part of the day keeps its business-hours coverage.
            (alice.pk, at(DAY, 9), t1, False),
            (bob.pk, t1, day_end, True),
        ]
        assert oncall_engineer_ids(schedule_id=sched.pk, at=at(DAY, 10)) == [alice.pk]
        assert oncall_engineer_ids(schedule_id=sched.pk, at=at(DAY, 14)) == [bob.pk]
        # A future date added at T1 is a holiday the whole day.
        assert oncall_engineer_ids(schedule_id=sched.pk, at=at(DAY, 10) + timedelta(7)) == [bob.pk]

    # T2: both removed. Asked later, [T1, T2) still shows the holiday coverage.
    with time_machine.travel(t2, tick=False):
        services.holiday_calendar_save(calendar=calendar, name="DE", holidays=[])
    assert Holiday.objects.filter(calendar=calendar).count() == 2  # kept, marked removed
    assert all(h.removed_at == t2 for h in Holiday.objects.filter(calendar=calendar))
    with time_machine.travel(at(DAY, 0) + timedelta(days=3), tick=False):
        assert spans(sched.pk, day_start, day_end) == [
            (bob.pk, day_start, at(DAY, 9), False),
            (alice.pk, at(DAY, 9), t1, False),
            (bob.pk, t1, t2, True),
            (alice.pk, t2, at(DAY, 17), False),
            (bob.pk, at(DAY, 17), day_end, False),
        ]
        # Next Tuesday was a holiday only for three hours of T1's day: now ordinary again.
        assert oncall_engineer_ids(schedule_id=sched.pk, at=at(DAY, 10) + timedelta(7)) == [
            alice.pk
        ]


def test_a_date_removed_and_added_again_keeps_both_periods(cast):
    sched, calendar, alice, bob = cast
    for moment, days in (
        (at(DAY, 10), [(DAY, "x")]),
        (at(DAY, 11), []),
        (at(DAY, 13), [(DAY, "x")]),
    ):
        with time_machine.travel(moment, tick=False):
            services.holiday_calendar_save(calendar=calendar, name="DE", holidays=days)
    assert Holiday.objects.filter(calendar=calendar, date=DAY).count() == 2
    assert [(e, s.hour, h) for e, s, _end, h in spans(sched.pk, at(DAY, 9), at(DAY, 17))] == [
        (alice.pk, 9, False),
        (bob.pk, 10, True),
        (alice.pk, 11, False),
        (bob.pk, 13, True),
    ]


def test_past_fairness_and_holiday_flags_survive_calendar_edits(cast):
    sched, calendar, alice, bob = cast
    with time_machine.travel(T0, tick=False):
        services.holiday_calendar_save(calendar=calendar, name="DE", holidays=[(DAY, "Epiphany")])
    week = (T0, T0 + timedelta(days=7))
    later = T0 + timedelta(days=10)
    with time_machine.travel(later, tick=False):
        flags = spans(sched.pk, *week)
        report = fairness_report(schedule_definition(sched.pk), *week)
        load = oncall_load(start=week[0], end=week[1], team=sched.team_id)
        assert {r["engineer"]: r["holiday_hours"] for r in report} == {alice.pk: 0.0, bob.pk: 24.0}
        # Swap the holiday for another past date and add a future one.
        services.holiday_calendar_save(
            calendar=calendar,
            name="DE",
            holidays=[(DAY + timedelta(days=1), "moved"), (date(2026, 2, 2), "future")],
        )
    with time_machine.travel(later + timedelta(days=1), tick=False):
        assert spans(sched.pk, *week) == flags
        assert fairness_report(schedule_definition(sched.pk), *week) == report
        assert oncall_load(start=week[0], end=week[1], team=sched.team_id) == load
        assert oncall_engineer_ids(schedule_id=sched.pk, at=at(date(2026, 2, 2), 10)) == [bob.pk]


def test_resolver_cuts_each_holiday_to_its_period():
    added, removed = at(DAY, 6), at(DAY, 18)
    d = schedule(
        layer(1, version([A, B], date(2026, 1, 5))),
        holidays=frozenset({HolidayDef(day=DAY, added_at=added, removed_at=removed)}),
    )
    assert [(s.start, s.end, s.holiday) for s in resolve(d, at(DAY, 0), at(DAY, 23))] == [
        (at(DAY, 0), added, False),
        (added, removed, True),
        (removed, at(DAY, 23), False),
    ]


def test_api_lists_current_holidays_and_removal_keeps_the_row(cast):
    sched, calendar, _alice, _bob = cast
    client = APIClient()
    client.force_authenticate(UserFactory(is_staff=True))
    url = f"/api/v1/holiday-calendars/{calendar.pk}/"
    with time_machine.travel(at(DAY, 8), tick=False):
        r = client.put(
            url,
            {"name": "DE", "holidays": [{"date": "2026-01-06"}, {"date": "2026-01-07"}]},
            format="json",
        )
        assert r.status_code == 200, r.data
    with time_machine.travel(at(DAY, 9), tick=False):
        r = client.put(url, {"name": "DE", "holidays": [{"date": "2026-01-07"}]}, format="json")
    assert r.status_code == 200 and [h["date"] for h in r.data["holidays"]] == ["2026-01-07"]
    assert [h["date"] for h in client.get(url).data["holidays"]] == ["2026-01-07"]
    gone = Holiday.objects.get(date=DAY)
    assert gone.removed_at == at(DAY, 9)


def test_ical_reimport_that_drops_a_date_marks_it_removed(cast):
    _sched, calendar, _alice, _bob = cast
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n"
        "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTART;VALUE=DATE:{day}\r\nSUMMARY:H\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    )
    with time_machine.travel(T0, tick=False):
        holiday_calendar_import_ical(
            calendar=calendar, data=ics.format(uid="a", day="20260106").encode(), replace=True
        )
    with time_machine.travel(T0 + timedelta(days=3), tick=False):
        holiday_calendar_import_ical(
            calendar=calendar, data=ics.format(uid="b", day="20260120").encode(), replace=True
        )
    rows = {h.date: (h.added_at, h.removed_at) for h in Holiday.objects.filter(calendar=calendar)}
    assert rows == {
        DAY: (T0, T0 + timedelta(days=3)),
        date(2026, 1, 20): (T0 + timedelta(days=3), None),
    }


def test_admin_inline_delete_and_date_change_keep_history(cast):
    _sched, calendar, _alice, _bob = cast
    with time_machine.travel(T0, tick=False):
        services.holiday_calendar_save(
            calendar=calendar, name="DE", holidays=[(DAY, "a"), (date(2026, 1, 7), "b")]
        )
    first, second = Holiday.objects.filter(calendar=calendar).order_by("date")
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    change_url = f"/admin/schedules/holidaycalendar/{calendar.pk}/change/"
    data = {
        "name": "DE",
        "description": "",
        "holidays-TOTAL_FORMS": "2",
        "holidays-INITIAL_FORMS": "2",
        "holidays-MIN_NUM_FORMS": "0",
        "holidays-MAX_NUM_FORMS": "1000",
        "holidays-0-id": str(first.pk),
        "holidays-0-calendar": str(calendar.pk),
        "holidays-0-date": "2026-01-06",
        "holidays-0-name": "a",
        "holidays-0-DELETE": "on",
        "holidays-1-id": str(second.pk),
        "holidays-1-calendar": str(calendar.pk),
        "holidays-1-date": "2026-01-08",
        "holidays-1-name": "b",
    }
    edit_at = T0 + timedelta(days=1)
    with time_machine.travel(edit_at, tick=False):
        response = client.post(change_url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    rows = [
        (h.date, h.added_at, h.removed_at)
        for h in Holiday.objects.filter(calendar=calendar).order_by("date")
    ]
    assert rows == [
        (DAY, T0, edit_at),
        (date(2026, 1, 7), T0, edit_at),
        (date(2026, 1, 8), edit_at, None),
    ]
    # The change page lists only the current holiday.
    page = client.get(change_url).content.decode()
    assert "2026-01-08" in page and "2026-01-06" not in page


CONFIG = """
holiday_calendars:
  - name: Germany
    holidays:
      - {date: 2026-01-06, name: Epiphany}
      - {date: 2026-01-07, name: Other}
"""


def test_config_apply_removes_from_now_and_export_lists_current(cast):
    with time_machine.travel(T0, tick=False):
        config_apply(file="oncall.yaml", text=CONFIG)
    germany = HolidayCalendar.objects.get(name="Germany")
    fewer = CONFIG.replace("      - {date: 2026-01-07, name: Other}\n", "")
    later = T0 + timedelta(days=1)
    with time_machine.travel(later, tick=False):
        result = config_apply(file="oncall.yaml", text=fewer)
        assert [str(c) for c in result.changes if c.action == "update"] == [
            "~ holiday_calendars[Germany]: holidays +0 -1"
        ]
        gone = Holiday.objects.get(calendar=germany, date=date(2026, 1, 7))
        assert gone.removed_at == later
        exported = config_export()
        [cal] = [c for c in exported["holiday_calendars"] if c["name"] == "Germany"]
        assert cal["holidays"] == [{"date": "2026-01-06", "name": "Epiphany"}]
        # Re-applying the export, or the same file, changes nothing.
        again = yaml.safe_dump({"holiday_calendars": exported["holiday_calendars"]})
        for text in (again, fewer):
            changes = config_apply(file="oncall.yaml", text=text).changes
            assert not [c for c in changes if c.action not in ("missing",)]
    assert Holiday.objects.filter(calendar=germany).count() == 2
