"""Swap lifecycle (request, accept/decline, expire, notifications) and holiday import."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from oncall.people.models import TeamMembership
from paging.engine import tick_steps
from paging.models import Message
from schedules import services
from schedules.holidays import holiday_calendar_import_ical, holiday_calendar_import_url
from schedules.models import HolidayCalendar, SwapRequest
from schedules.selectors import oncall_engineer_ids, schedule_definition
from schedules.swaps import swap_accept, swap_cancel, swap_decline, swap_request, swaps_expire
from tests.factories import ContactMethodFactory, EngineerFactory, MembershipFactory, TeamFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)  # Monday


@pytest.fixture
def team_schedule():
    team = TeamFactory()
    alice = EngineerFactory(display_name="Alice")
    bob = EngineerFactory(display_name="Bob")
    boss = EngineerFactory(display_name="Boss")
    outsider = EngineerFactory(display_name="Olga")
    MembershipFactory(team=team, engineer=alice)
    MembershipFactory(team=team, engineer=bob)
    MembershipFactory(team=team, engineer=boss, role=TeamMembership.Role.ADMIN)
    ContactMethodFactory(engineer=alice, kind="email")
    ContactMethodFactory(engineer=bob, kind="sms", verified_at=None)  # not pageable
    ContactMethodFactory(engineer=bob, kind="slack")
    with time_machine.travel(T0 - timedelta(days=1), tick=False):
        schedule = services.schedule_create(team=team, name="Primary")
        services.layer_create(
            schedule=schedule, name="Weekly", start_date=date(2026, 2, 2), members=[alice, bob]
        )
    return schedule, alice, bob, boss, outsider


def _swap_messages():
    return list(Message.objects.filter(purpose="swap").order_by("id"))


def test_full_swap_lifecycle_accept(team_schedule):
    schedule, alice, bob, _boss, _ = team_schedule
    start, end = T0 + timedelta(days=2), T0 + timedelta(days=3)
    with time_machine.travel(T0, tick=False):
        swap = swap_request(schedule=schedule, requester=alice, teammate=bob, start=start, end=end)
        [asked] = _swap_messages()
        assert (asked.engineer_id, asked.kind) == (bob.id, "slack")  # first *pageable* method
        assert "Alice asks you" in asked.body
        swap = swap_accept(swap=swap, user=bob.user)
    assert swap.status == SwapRequest.Status.ACCEPTED and swap.override is not None
    assert swap.override.replace_engineer_id == alice.id
    assert oncall_engineer_ids(schedule_id=schedule.id, at=start + timedelta(hours=1)) == [bob.id]
    assert oncall_engineer_ids(schedule_id=schedule.id, at=end + timedelta(hours=1)) == [alice.id]
    told = {(m.engineer_id, m.subject) for m in _swap_messages()[1:]}
    assert told == {(alice.id, "Shift swap accepted"), (bob.id, "Shift swap accepted")}
    with time_machine.travel(T0, tick=False), pytest.raises(ValidationError):
        swap_decline(swap=swap, user=bob.user)  # already decided


def test_decline_by_team_admin_and_outsider_refused(team_schedule):
    schedule, alice, bob, boss, outsider = team_schedule
    with time_machine.travel(T0, tick=False):
        swap = swap_request(
            schedule=schedule,
            requester=alice,
            teammate=bob,
            start=T0 + timedelta(days=1),
            end=T0 + timedelta(days=2),
        )
        with pytest.raises(PermissionDenied):
            swap_accept(swap=swap, user=outsider.user)
        with pytest.raises(PermissionDenied):
            swap_accept(swap=swap, user=alice.user)  # the requester cannot accept for bob
        swap = swap_decline(swap=swap, user=boss.user)
    assert swap.status == SwapRequest.Status.DECLINED and swap.override is None
    assert oncall_engineer_ids(schedule_id=schedule.id, at=T0 + timedelta(days=1, hours=1)) == [
        alice.id
    ]


def test_pending_swap_expires_when_start_passes(team_schedule):
    schedule, alice, bob, _boss, _ = team_schedule
    assert swaps_expire in [step.fn for step in tick_steps()]
    start = T0 + timedelta(hours=5)
    with time_machine.travel(T0, tick=False):
        swap = swap_request(
            schedule=schedule,
            requester=alice,
            teammate=bob,
            start=start,
            end=start + timedelta(hours=2),
        )
        assert swaps_expire() == 0
    with time_machine.travel(start + timedelta(seconds=1), tick=False):
        with pytest.raises(ValidationError):
            swap_accept(swap=swap, user=bob.user)  # too late, even before the tick ran
        assert swaps_expire() == 1
        assert swaps_expire() == 0
    swap.refresh_from_db()
    assert swap.status == SwapRequest.Status.EXPIRED
    assert {m.engineer_id for m in _swap_messages() if m.subject == "Shift swap expired"} == {
        alice.id,
        bob.id,
    }


def test_swap_validation_and_cancel(team_schedule):
    schedule, alice, bob, _boss, outsider = team_schedule
    with time_machine.travel(T0, tick=False):
        with pytest.raises(ValidationError) as exc:
            swap_request(
                schedule=schedule,
                requester=alice,
                teammate=outsider,
                start=T0 + timedelta(hours=1),
                end=T0 + timedelta(hours=2),
            )
        assert "teammate" in exc.value.message_dict
        with pytest.raises(ValidationError) as exc:
            swap_request(
                schedule=schedule,
                requester=alice,
                teammate=bob,
                start=T0 - timedelta(days=1),
                end=T0,
            )
        assert "start" in exc.value.message_dict
        swap = swap_request(
            schedule=schedule,
            requester=alice,
            teammate=bob,
            start=T0 + timedelta(hours=1),
            end=T0 + timedelta(hours=2),
        )
        with pytest.raises(PermissionDenied):
            swap_cancel(swap=swap, user=bob.user)
        assert swap_cancel(swap=swap, user=alice.user).status == SwapRequest.Status.CANCELLED


ICS = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//holidays//EN
BEGIN:VEVENT
UID:1@test
DTSTART;VALUE=DATE:20261225
DTEND;VALUE=DATE:20261227
SUMMARY:Christmas
END:VEVENT
BEGIN:VEVENT
UID:2@test
DTSTART;VALUE=DATE:20260101
SUMMARY:New Year
RRULE:FREQ=YEARLY
END:VEVENT
END:VCALENDAR
"""


def test_ical_file_import_feeds_the_resolver(team_schedule):
    schedule, *_ = team_schedule
    calendar = HolidayCalendar.objects.create(name="Germany")
    with time_machine.travel(T0, tick=False):
        holiday_calendar_import_ical(calendar=calendar, data=ICS)
    dates = set(calendar.holidays.values_list("date", flat=True))
    assert {date(2026, 12, 25), date(2026, 12, 26), date(2026, 1, 1), date(2027, 1, 1)} <= dates
    assert date(2026, 12, 27) not in dates  # DTEND is exclusive
    services.schedule_calendar_attach(schedule=schedule, calendar=calendar)
    assert date(2026, 12, 26) in {h.day for h in schedule_definition(schedule.id).holidays}
    with pytest.raises(ValidationError):
        holiday_calendar_import_ical(calendar=calendar, data=b"not a calendar")


def test_ical_url_import_from_local_server():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            self.send_response(200)
            self.send_header("Content-Type", "text/calendar")
            self.end_headers()
            self.wfile.write(ICS)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        calendar = HolidayCalendar.objects.create(name="US")
        url = f"http://127.0.0.1:{server.server_port}/holidays.ics"
        with time_machine.travel(T0, tick=True):
            count = holiday_calendar_import_url(calendar=calendar, url=url)
        assert count >= 3
        calendar.refresh_from_db()
        assert calendar.source_url == url
        with pytest.raises(ValidationError):
            holiday_calendar_import_url(calendar=calendar, url="file:///etc/passwd")
    finally:
        server.shutdown()
