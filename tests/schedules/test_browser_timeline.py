"""The schedule page in headless Chromium: the timeline over a month, "add override"
from a final shift typed in Berlin time (17:00Z in the API for 18:00 CET), the warning
of a rotation edit that changes who is on call, at 1280x800 and 390x844."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine

from schedules import services
from schedules.models import LayerVersion, Override
from schedules.restriction_text import restrictions_parse
from schedules.selectors import oncall_engineer_ids
from tests.browser import HAS_CHROMIUM, check_viewports, overflow, signed_in_page
from tests.factories import EngineerFactory, MembershipFactory, TeamFactory, UserFactory

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not HAS_CHROMIUM, reason="/usr/bin/chromium is absent"),
]

NOW = datetime(2026, 11, 25, 10, tzinfo=UTC)  # Wednesday 11:00 CET


@pytest.fixture
def world():
    team = TeamFactory(name="Core")
    people = [
        EngineerFactory(display_name=name, user__username=name.lower())
        for name in ("Alice", "Bob", "Carol")
    ]
    for engineer in people:
        MembershipFactory(team=team, engineer=engineer)
    with time_machine.travel(NOW - timedelta(days=30), tick=False):
        calendar = services.holiday_calendar_save(
            name="Germany", holidays=[(date(2026, 11, 18), "Buß- und Bettag")]
        )
        schedule = services.schedule_create(
            team=team, name="Primary", time_zone="Europe/Berlin", holiday_calendars=[calendar]
        )
        services.time_off_create(
            engineer=people[1],
            start=datetime(2026, 11, 10, tzinfo=UTC),
            end=datetime(2026, 11, 13, tzinfo=UTC),
        )
        services.layer_create(
            schedule=schedule,
            name="Weekly",
            start_date=date(2026, 11, 2),
            handoff_time=time(9),
            shift_unit="weeks",
            members=people[:2],
        )
        services.layer_create(
            schedule=schedule,
            name="Business",
            level=1,
            start_date=date(2026, 11, 2),
            handoff_time=time(9),
            shift_unit="days",
            members=[people[2]],
            restrictions=restrictions_parse("Mon-Fri 09:00-17:00 business"),
        )
    admin = UserFactory(is_staff=True, is_superuser=True, username="root")
    return schedule, people, admin


def test_timeline_month_override_in_berlin_and_layer_warning(live_server, world):
    schedule, (alice, bob, carol), admin = world
    base = f"{live_server.url}/admin/schedules/schedule/{schedule.pk}/change/"
    # The page's clock is the server's: frozen, so "now" is inside the month shown.
    with time_machine.travel(NOW, tick=True), signed_in_page(live_server.url, admin) as page:
        check_viewports(page, f"{base}?tl_range=month", "schedule-timeline-month",
                        "#schedule-timeline[data-placed='1']")  # fmt: skip
        page.locator("#layers-0").screenshot(path="var/screenshots/schedule-layer-phone.png")
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(f"{base}?tl_range=month")
        assert "November 2026 (1 month, Europe/Berlin)" in page.inner_text("#tl-title")
        # The holiday calendars' label sits before its two boxes, as every field's does.
        page.wait_for_selector(".field-holiday_calendars .selector")
        label = page.locator("label[for='id_holiday_calendars']").bounding_box()
        boxes = page.locator(".field-holiday_calendars .selector").bounding_box()
        assert label and boxes and label["x"] + label["width"] <= boxes["x"], (label, boxes)
        final = page.locator("[data-row='final'] .tl-bar")
        assert final.count() > 20
        # Bars are placed (the static script set their box from data- attributes).
        box = page.locator("[data-row='layer'] .tl-bar").first.bounding_box()
        assert box and box["width"] > 20
        assert page.locator(".tl-now").count() == 5  # one per row
        assert page.locator(".tl-holiday").count() == 6  # 18 November, across the rows and axis
        assert page.locator("[data-row='off'] .tl-bar").inner_text() == "Bob off"
        for label in ("1 day", "1 week", "2 weeks", "1 month"):
            assert page.get_by_role("link", name=label).count() == 1
        page.get_by_role("link", name="Next →").click()
        assert "December 2026" in page.inner_text("#tl-title")
        page.get_by_role("link", name="1 week").click()
        page.wait_for_selector("#schedule-timeline[data-placed='1']")
        page.screenshot(path="var/screenshots/schedule-timeline-week.png", full_page=True)

        # "Add override" from Alice's Monday evening shift (30 November, from 17:00).
        page.goto(f"{base}?tl_range=week&tl_day=2026-11-30")
        shift = page.locator("[data-row='final'] a.tl-bar").filter(has_text="Alice").first
        shift.click()
        page.wait_for_selector("#override_form")
        assert "Europe/Berlin (CET)" in page.inner_text("#override_form")
        page.select_option("#id_engineer", str(carol.pk))
        page.fill("#id_start_0", "2026-11-30")
        page.fill("#id_start_1", "18:00")
        page.fill("#id_end_0", "2026-12-01")
        page.fill("#id_end_1", "09:00")
        page.screenshot(path="var/screenshots/override-add-berlin.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path="var/screenshots/override-add-berlin-phone.png", full_page=True)
        assert overflow(page) == {"page": 0, "content": 0}
        page.set_viewport_size({"width": 1280, "height": 800})
        page.get_by_role("button", name="Save", exact=True).click()
        page.wait_for_selector("#schedule-timeline")
        assert "Override added" in page.inner_text("ul.messagelist")
        api = page.request.get(f"{live_server.url}/api/v1/overrides/?schedule={schedule.pk}")
        body = api.json()
        items = body["results"] if isinstance(body, dict) else body
        assert [(o["start"], o["end"]) for o in items] == [
            ("2026-11-30T17:00:00Z", "2026-12-01T08:00:00Z")
        ]

        # A rotation edit that moves the current week from Alice to Bob, effective now.
        page.goto(base)
        page.fill("#id_layers-0-members_text", "bob, alice")
        page.select_option("#id_layers-0-effective", "now")
        # Wait for the answer page: reading it, or ticking its box, while the old one is
        # still shown races the navigation.
        with page.expect_navigation():
            page.get_by_role("button", name="Save and continue editing").click()
        error = page.locator(".errorlist").first.inner_text()
        assert "On call now changes from" in error
        page.screenshot(path="var/screenshots/layer-edit-warning.png", full_page=True)
        check_viewports(page, page.url, "schedule-layer-warning-reload")
        # (The first layer on the page is the highest, "Business": Carol on weekdays.)
        assert LayerVersion.objects.filter(layer__name="Business").count() == 1  # not saved

        # The same edit from the layer's next handoff (the default): the form says what
        # changes then; confirmed, it saves, and who is on call now stays.
        on_call_now = oncall_engineer_ids(schedule_id=schedule.pk, at=NOW)
        page.fill("#id_layers-0-members_text", "bob, alice")
        page.select_option("#id_layers-0-effective", "next-handoff")
        with page.expect_navigation():
            page.get_by_role("button", name="Save and continue editing").click()
        error = page.locator(".errorlist").first.inner_text()
        assert "On call at Thu 26 Nov 2026, 09:00 CET (Europe/Berlin) changes from Carol" in error
        page.check("#id_layers-0-confirm_change")
        with page.expect_navigation():
            page.get_by_role("button", name="Save and continue editing").click()
        page.wait_for_selector("ul.messagelist")
        assert page.locator(".errorlist").count() == 0
        assert page.errors == []
    version = LayerVersion.objects.filter(layer__name="Business").latest("effective_from")
    assert version.effective_from == datetime(2026, 11, 26, 8, tzinfo=UTC)
    assert oncall_engineer_ids(schedule_id=schedule.pk, at=NOW) == on_call_now
    override = Override.objects.get()
    assert override.engineer_id == carol.pk and override.replace_engineer_id == alice.pk
