"""The admin home: who is on call now and next per schedule (in the schedule's zone, the
zone named), open incidents by service, coverage gaps; internals under "System",
read-only; the product named in the header."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.test import Client

from paging.incident_actions import incident_acknowledge
from schedules import services
from schedules.coverage import schedule_coverage
from schedules.restriction_text import restrictions_parse
from schedules.selectors import schedule_definition
from tests.factories import EngineerFactory, TeamFactory, UserFactory
from tests.paging.factories import ServiceFactory
from tests.support import fire

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday 10:00 in Berlin (CET)


@pytest.fixture
def schedule():
    team = TeamFactory(name="Core")
    alice = EngineerFactory(display_name="Alice")
    bob = EngineerFactory(display_name="Bob")
    with time_machine.travel(T0 - timedelta(days=1), tick=False):
        schedule = services.schedule_create(team=team, name="Primary", time_zone="Europe/Berlin")
        services.layer_create(
            schedule=schedule,
            name="Business",
            start_date=date(2026, 3, 2),
            handoff_time=time(9),
            members=[alice, bob],
            shift_unit="days",
            restrictions=restrictions_parse("Mon-Fri 09:00-17:00"),
        )
    return schedule


def test_coverage_now_next_and_gaps(schedule) -> None:
    coverage = schedule_coverage(schedule_definition(schedule.pk), now=T0)
    assert (coverage.now.name, coverage.now.end) == ("Alice", datetime(2026, 3, 2, 16, tzinfo=UTC))
    assert (coverage.next.name, coverage.next.start, coverage.next.end) == (
        "Bob",
        datetime(2026, 3, 3, 8, tzinfo=UTC),
        datetime(2026, 3, 3, 16, tzinfo=UTC),
    )
    # Evenings and the weekend are gaps; the first starts when Alice's day ends.
    assert coverage.gaps[0] == (
        datetime(2026, 3, 2, 16, tzinfo=UTC),
        datetime(2026, 3, 3, 8, tzinfo=UTC),
    )
    # Friday 17:00 to Monday 09:00 (Berlin), the last gap before the 14-day horizon.
    assert coverage.gaps[-1] == (
        datetime(2026, 3, 13, 16, tzinfo=UTC),
        datetime(2026, 3, 16, 8, tzinfo=UTC),
    )
    assert all(start >= T0 for start, _ in coverage.gaps)  # the past is never a gap


def test_home_shows_oncall_in_the_schedules_zone_and_open_incidents(
    admin_client_, schedule
) -> None:
    api = ServiceFactory(name="api")
    ServiceFactory(name="quiet")
    with time_machine.travel(T0, tick=False):
        fire(api, key="a")
        acked = fire(api, key="b")
        incident_acknowledge(incident_id=acked.pk)
        html = admin_client_.get("/admin/").content.decode()
    row = re.search(r'<tr data-schedule="Primary">(.*?)</tr>', html, re.S).group(1)
    assert "Europe/Berlin" in row
    assert "<strong>Alice</strong>" in row
    assert "until <time" in row and "Mon 2 Mar 2026, 17:00 CET</time>" in row
    assert "<strong>Bob</strong>" in row and "Tue 3 Mar 2026, 09:00 CET" in row
    assert 'class="home-gap"' in row
    incidents = re.search(r'<tr data-service="api">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r"<td[^>]*>(?:<span[^>]*>)?(\d+)", incidents) == ["1", "1", "2"]
    assert 'data-service="quiet"' not in html  # only services with open incidents


def test_site_header_names_the_product(admin_client_) -> None:
    html = admin_client_.get("/admin/").content.decode()
    assert "oncall — on-call schedules and paging" in html
    assert "Django administration" not in html


def test_internals_are_grouped_under_system_and_read_only(admin_client_) -> None:
    html = admin_client_.get("/admin/").content.decode()
    system = html[html.index('class="app-system module') :]
    system = system[: system.index("</table>")]
    for name in ("Engine heartbeats", "Periodic tasks", "Verification codes", "Layer versions"):
        assert name in system, name
    assert "addlink" not in system  # no Add buttons
    people = html[html.index('class="app-oncall module') :]
    people = people[: people.index("</table>")]
    assert "Verification codes" not in people and "Engineers" in people
    assert admin_client_.get("/admin/paging/engineheartbeat/add/").status_code == 403
    assert admin_client_.get("/admin/django_celery_beat/periodictask/add/").status_code == 403
    # Still readable, without the actions that write (enable, disable, run tasks).
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="engine tick", task="paging.tasks.tick", interval=every)
    page = admin_client_.get("/admin/django_celery_beat/periodictask/")
    assert page.status_code == 200
    assert "engine tick" in page.content.decode()
    assert 'name="action"' not in page.content.decode()


def test_panels_need_the_permission_to_see_what_they_summarise(schedule) -> None:
    client = Client()
    client.force_login(UserFactory(is_staff=True))  # no model permissions
    html = client.get("/admin/").content.decode()
    assert 'id="home-oncall"' not in html and 'id="home-incidents"' not in html
    assert "Primary" not in html
