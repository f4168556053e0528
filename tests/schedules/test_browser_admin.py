"""Headless Chromium (Debian's ``chromium``, driven by Playwright) on the live admin:
the timeline's final row shows the expected names with future gaps highlighted, and a
swap is accepted with the admin action."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from oncall.people.models import TeamMembership
from schedules import services
from schedules.models import SwapRequest
from schedules.restriction_text import restrictions_parse
from schedules.swaps import swap_request
from tests.browser import BROWSER_MARKS, signed_in_page
from tests.factories import EngineerFactory, MembershipFactory, TeamFactory, UserFactory

pytestmark = BROWSER_MARKS

TZ = ZoneInfo("Europe/Berlin")


@pytest.fixture
def page(live_server):
    admin = UserFactory(is_staff=True, is_superuser=True, username="root")
    with signed_in_page(live_server.url, admin) as page:
        yield page


@pytest.fixture
def schedule_world():
    team = TeamFactory(name="Core")
    alice = EngineerFactory(display_name="Alice", user__username="alice")
    bob = EngineerFactory(display_name="Bob", user__username="bob")
    MembershipFactory(team=team, engineer=alice)
    MembershipFactory(team=team, engineer=bob, role=TeamMembership.Role.ADMIN)
    today = timezone.now().astimezone(TZ).date()
    schedule = services.schedule_create(team=team, name="Primary", time_zone="Europe/Berlin")
    services.layer_create(
        schedule=schedule,
        name="Days",
        start_date=today,
        handoff_time=time(0),
        shift_unit="days",
        members=[alice, bob],
        restrictions=restrictions_parse("Mon-Sun 08:00-20:00"),
    )
    return schedule, alice, bob, today


def _final_bar_at(page, instant: datetime):
    """The final row's bar covering ``instant`` (bars carry their start; the next one's
    start is this one's end)."""
    bars = page.locator("[data-row='final'] .tl-bar")
    found = None
    for i in range(bars.count()):
        bar = bars.nth(i)
        if datetime.fromisoformat(bar.get_attribute("data-start")) <= instant:
            found = bar
    return found


def test_timeline_in_chromium_shows_names_and_future_gaps(page, live_server, schedule_world):
    schedule, _alice, _bob, today = schedule_world
    page.goto(f"{live_server.url}/admin/schedules/schedule/{schedule.pk}/change/?tl_range=2weeks")
    page.wait_for_selector("#schedule-timeline[data-placed='1']")
    assert "(2 weeks, Europe/Berlin)" in page.locator("#tl-title").inner_text()
    tomorrow, after = today + timedelta(days=1), today + timedelta(days=2)
    # Day k of the rotation belongs to members[k % 2]: tomorrow Bob, the day after Alice.
    # (The 2-week range starts on this week's Monday: both days are inside it.)
    assert _final_bar_at(page, datetime.combine(tomorrow, time(10), TZ)).inner_text() == "Bob"
    night = _final_bar_at(page, datetime.combine(after, time(3), TZ))
    assert night.inner_text() == "gap" and "tl-gap" in night.get_attribute("class")
    # The gap is visibly highlighted (a red background), not just labelled.
    color = night.evaluate("el => getComputedStyle(el).backgroundColor")
    assert color == "rgb(248, 215, 218)"
    assert _final_bar_at(page, datetime.combine(after, time(12), TZ)).inner_text() == "Alice"


def test_swap_accepted_from_the_admin_in_chromium(page, live_server, schedule_world):
    schedule, alice, bob, today = schedule_world
    start = datetime.combine(today + timedelta(days=2), time(8), TZ)
    swap = swap_request(
        schedule=schedule,
        requester=alice,
        teammate=bob,
        start=start,
        end=start + timedelta(hours=12),
    )
    page.goto(f"{live_server.url}/admin/schedules/swaprequest/")
    page.check(f'input[name="_selected_action"][value="{swap.pk}"]')
    page.select_option('select[name="action"]', "accept_swaps")
    page.click('button[name="index"]')
    page.wait_for_load_state()
    assert f"swap #{swap.pk}: accepted" in page.locator("ul.messagelist").inner_text().lower()
    swap.refresh_from_db()
    assert swap.status == SwapRequest.Status.ACCEPTED
    # The timeline now shows Bob for Alice's day, as an override (swap).
    day = today + timedelta(days=2)
    page.goto(
        f"{live_server.url}/admin/schedules/schedule/{schedule.pk}/change/"
        f"?tl_range=day&tl_day={day.isoformat()}"
    )
    bar = _final_bar_at(page, datetime.combine(day, time(12), TZ))
    assert bar.inner_text() == "Bob"
    assert "tl-override" in bar.get_attribute("class")
    swaps = page.locator("[data-row='overrides'] .tl-bar")
    assert "swap" in swaps.first.get_attribute("title")
