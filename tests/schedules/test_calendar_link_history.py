"""Attaching, detaching and deleting holiday calendars never rewrite the past: a holiday
applies to a schedule over [added_at, removed_at) intersected with the link's
[attached_at, detached_at); deleting a calendar archives it (detached now)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.test import Client
from rest_framework.test import APIClient

from analytics.load import oncall_load
from oncall.config.apply import config_apply, config_export
from schedules import services
from schedules.fairness import fairness_report
from schedules.models import HolidayCalendar, ScheduleCalendarLink
from schedules.selectors import schedule_definition
from tests.factories import UserFactory
from tests.schedules import test_holiday_history
from tests.schedules.test_holiday_history import DAY, T0, at, spans

pytestmark = pytest.mark.django_db
cast = test_holiday_history.cast  # the fixture: business-hours Alice over Bob, "DE" attached

FUTURE = date(2026, 1, 20)  # a Tuesday after the calendar is deleted
DAY_START, DAY_END = at(DAY, 0), at(DAY + timedelta(days=1), 0)


@pytest.fixture
def us():
    """A second calendar with DAY on it since T0, not attached to anything."""
    with time_machine.travel(T0, tick=False):
        return services.holiday_calendar_save(name="US", holidays=[(DAY, "Holiday")])


def rows(response) -> list[dict]:
    data = response.data
    return data["results"] if isinstance(data, dict) else data


def business_day(alice, bob) -> list[tuple]:
    return [
        (bob.pk, DAY_START, at(DAY, 9), False),
        (alice.pk, at(DAY, 9), at(DAY, 17), False),
        (bob.pk, at(DAY, 17), DAY_END, False),
    ]


def test_attach_and_detach_change_only_the_future(cast, us):
    sched, _de, alice, bob = cast
    with time_machine.travel(at(DAY, 12), tick=False):
        assert services.schedule_calendar_attach(schedule=sched, calendar=us)
        assert not services.schedule_calendar_attach(schedule=sched, calendar=us)
    # Before 12:00 the day was a working day: Alice's business hours stay covered.
    assert spans(sched.pk, DAY_START, DAY_END) == [
        (bob.pk, DAY_START, at(DAY, 9), False),
        (alice.pk, at(DAY, 9), at(DAY, 12), False),
        (bob.pk, at(DAY, 12), DAY_END, True),
    ]
    with time_machine.travel(at(DAY, 15), tick=False):
        assert services.schedule_calendar_detach(schedule=sched, calendar=us)
        assert not services.schedule_calendar_detach(schedule=sched, calendar=us)
        assert [c.name for c in sched.holiday_calendars] == ["DE"]
    assert [(e, s.hour, h) for e, s, _end, h in spans(sched.pk, at(DAY, 9), at(DAY, 17))] == [
        (alice.pk, 9, False),
        (bob.pk, 12, True),
        (alice.pk, 15, False),
    ]
    # Attached again later: a second link, the first period kept.
    with time_machine.travel(at(DAY, 16), tick=False):
        services.schedule_calendars_set(schedule=sched, calendars=[us])
    links = ScheduleCalendarLink.objects.filter(schedule=sched).order_by("attached_at", "pk")
    assert [(lk.calendar.name, lk.attached_at, lk.detached_at) for lk in links] == [
        ("DE", T0, at(DAY, 16)),
        ("US", at(DAY, 12), at(DAY, 15)),
        ("US", at(DAY, 16), None),
    ]
    assert [(e, s.hour, h) for e, s, _end, h in spans(sched.pk, at(DAY, 9), at(DAY, 17))] == [
        (alice.pk, 9, False),
        (bob.pk, 12, True),
        (alice.pk, 15, False),
        (bob.pk, 16, True),
    ]


def test_holiday_period_and_link_period_intersect(cast, us):
    sched, _de, alice, bob = cast
    with time_machine.travel(at(DAY, 10), tick=False):
        services.schedule_calendar_attach(schedule=sched, calendar=us)
    with time_machine.travel(at(DAY, 11), tick=False):
        services.holiday_calendar_save(calendar=us, name="US", holidays=[])
    with time_machine.travel(at(DAY, 13), tick=False):
        services.holiday_calendar_save(calendar=us, name="US", holidays=[(DAY, "again")])
    with time_machine.travel(at(DAY, 14), tick=False):
        services.schedule_calendar_detach(schedule=sched, calendar=us)
    assert [(e, s.hour, h) for e, s, _end, h in spans(sched.pk, at(DAY, 9), at(DAY, 17))] == [
        (alice.pk, 9, False),
        (bob.pk, 10, True),
        (alice.pk, 11, False),
        (bob.pk, 13, True),
        (alice.pk, 14, False),
    ]


def test_api_patch_attaches_from_now_and_lists_current(cast, us):
    sched, de, alice, bob = cast
    client = APIClient()
    client.force_authenticate(UserFactory(is_staff=True))
    url = f"/api/v1/schedules/{sched.pk}/"
    with time_machine.travel(at(DAY + timedelta(days=2), 8), tick=False):
        week = (T0, T0 + timedelta(days=7))
        report = fairness_report(schedule_definition(sched.pk), *week)
        r = client.patch(url, {"holiday_calendars": [us.pk]}, format="json")
        assert r.status_code == 200, r.data
        assert r.data["holiday_calendars"] == [us.pk]
        assert client.get(url).data["holiday_calendars"] == [us.pk]
        listed = {s["id"]: s["holiday_calendars"] for s in rows(client.get("/api/v1/schedules/"))}
        assert listed[sched.pk] == [us.pk]
    # Attaching US (which has DAY) two days later leaves DAY a working day.
    assert spans(sched.pk, DAY_START, DAY_END) == business_day(alice, bob)
    assert fairness_report(schedule_definition(sched.pk), *week) == report


def test_deleting_a_calendar_archives_it_and_keeps_the_past(cast):
    sched, de, alice, bob = cast
    with time_machine.travel(T0, tick=False):
        services.holiday_calendar_save(
            calendar=de, name="DE", holidays=[(DAY, "Epiphany"), (FUTURE, "Future")]
        )
    assert FUTURE in {h.day for h in schedule_definition(sched.pk).holidays}
    week = (T0, T0 + timedelta(days=7))
    holiday_day = [(bob.pk, DAY_START, DAY_END, True)]
    assert spans(sched.pk, DAY_START, DAY_END) == holiday_day
    client = APIClient()
    client.force_authenticate(UserFactory(is_staff=True))
    later = T0 + timedelta(days=10)
    with time_machine.travel(later, tick=False):
        load = oncall_load(start=week[0], end=week[1], team=sched.team_id)
        assert client.delete(f"/api/v1/holiday-calendars/{de.pk}/").status_code == 204
        assert client.get(f"/api/v1/holiday-calendars/{de.pk}/").status_code == 404
        assert rows(client.get("/api/v1/holiday-calendars/")) == []
        assert client.get(f"/api/v1/schedules/{sched.pk}/").data["holiday_calendars"] == []
        # The name is free again; the archived calendar cannot be attached.
        r = client.post("/api/v1/holiday-calendars/", {"name": "DE"}, format="json")
        assert r.status_code == 201, r.data
        r = client.patch(
            f"/api/v1/schedules/{sched.pk}/", {"holiday_calendars": [de.pk]}, format="json"
        )
        assert r.status_code == 400 and "holiday_calendars" in r.data
    de.refresh_from_db()
    assert de.archived_at == later and de.holidays.count() == 2
    assert ScheduleCalendarLink.objects.get(calendar=de).detached_at == later
    with time_machine.travel(later + timedelta(days=1), tick=False):
        assert spans(sched.pk, DAY_START, DAY_END) == holiday_day
        assert oncall_load(start=week[0], end=week[1], team=sched.team_id) == load
    # A date after the archive is no holiday any more.
    future = at(FUTURE, 0)
    assert (alice.pk, at(FUTURE, 9), at(FUTURE, 17), False) in spans(
        sched.pk, future, future + timedelta(days=1)
    )


def test_admin_delete_archives_and_schedule_form_attaches(cast, us):
    sched, de, alice, bob = cast
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    with time_machine.travel(at(DAY, 12), tick=False):
        r = client.post(f"/admin/schedules/holidaycalendar/{de.pk}/delete/", {"post": "yes"})
        assert r.status_code == 302
        page = client.get("/admin/schedules/holidaycalendar/").content.decode()
        assert ">US<" in page and ">DE<" not in page
        data = {
            "team": str(sched.team_id),
            "name": sched.name,
            "description": "",
            "time_zone": "UTC",
            "holiday_calendars": [str(us.pk)],
            "layers-TOTAL_FORMS": "0",
            "layers-INITIAL_FORMS": "0",
            "layers-MIN_NUM_FORMS": "0",
            "layers-MAX_NUM_FORMS": "1000",
            "overrides-TOTAL_FORMS": "0",
            "overrides-INITIAL_FORMS": "0",
            "overrides-MIN_NUM_FORMS": "0",
            "overrides-MAX_NUM_FORMS": "1000",
        }
        r = client.post(f"/admin/schedules/schedule/{sched.pk}/change/", data)
        assert r.status_code == 302, r.content.decode()[:3000]
    de.refresh_from_db()
    assert de.archived_at == at(DAY, 12)
    assert [c.name for c in sched.holiday_calendars] == ["US"]
    assert ScheduleCalendarLink.objects.get(calendar=us).attached_at == at(DAY, 12)
    # US attached at 12:00: the morning stays a working day.
    assert [(e, s.hour, h) for e, s, _end, h in spans(sched.pk, at(DAY, 9), at(DAY, 17))] == [
        (alice.pk, 9, False),
        (bob.pk, 12, True),
    ]


CONFIG = """
teams:
  - {slug: ops, name: Ops}
holiday_calendars:
  - name: Germany
    holidays:
      - {date: 2026-01-06, name: Epiphany}
  - name: Spare
    holidays: []
schedules:
  - team: ops
    name: Primary
    holiday_calendars: [Germany]
"""


def test_config_attach_detach_and_prune_keep_the_past():
    with time_machine.travel(T0, tick=False):
        config_apply(file="oncall.yaml", text=CONFIG)
    germany = HolidayCalendar.objects.get(name="Germany")
    [link] = ScheduleCalendarLink.objects.filter(calendar=germany)
    assert link.attached_at == T0 and link.detached_at is None
    without = CONFIG.replace("    holiday_calendars: [Germany]\n", "").replace(
        "  - name: Spare\n    holidays: []\n", ""
    )
    with time_machine.travel(at(DAY, 12), tick=False):
        result = config_apply(file="oncall.yaml", text=without, prune=True)
        actions = {str(c) for c in result.changes}
        assert any("schedules[ops/Primary]" in a and "holiday_calendars" in a for a in actions)
        assert any(a.startswith("- holiday_calendars[Spare]") for a in actions), actions
        exported = config_export()
    link.refresh_from_db()
    assert link.detached_at == at(DAY, 12)
    spare = HolidayCalendar.objects.get(name="Spare")
    assert spare.archived_at == at(DAY, 12)
    assert [c["name"] for c in exported["holiday_calendars"]] == ["Germany"]
    assert "holiday_calendars" not in exported["schedules"][0]
    sched = link.schedule
    holidays = schedule_definition(sched.pk).holidays
    assert {(h.day, h.added_at, h.removed_at) for h in holidays} == {(DAY, T0, at(DAY, 12))}
    # Re-applying the same file changes nothing.
    with time_machine.travel(at(DAY, 13), tick=False):
        changes = config_apply(file="oncall.yaml", text=without, prune=True).changes
        assert not [c for c in changes if c.action not in ("missing",)]
