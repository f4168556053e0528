"""The admin home in headless Chromium: who is on call now and next, open incidents by
service, the System section; layout and screenshots at 1280x800 and 390x844."""

from __future__ import annotations

from datetime import time

import pytest
from django.utils import timezone

from schedules import services
from tests.browser import SIZES, browser_marks, check_layout, logged_in_page
from tests.factories import EngineerFactory, TeamFactory, UserFactory
from tests.paging.factories import ServiceFactory
from tests.support import fire

pytestmark = [*browser_marks, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("size", list(SIZES))
def test_home_shows_who_is_on_call_and_open_incidents(live_server, size):
    team = TeamFactory(name="Platform")
    alice = EngineerFactory(display_name="Alice Example")
    bob = EngineerFactory(display_name="Bob Example")
    schedule = services.schedule_create(
        team=team, name="Platform primary", time_zone="America/New_York"
    )
    services.layer_create(
        schedule=schedule,
        name="Weekly",
        start_date=timezone.now().date(),
        handoff_time=time(0),
        shift_unit="days",
        members=[alice, bob],
    )
    fire(ServiceFactory(name="checkout-api"), key="a")
    lead = UserFactory(username="lead", is_staff=True, is_superuser=True)
    with logged_in_page(live_server, lead, SIZES[size]) as page:
        page.goto(f"{live_server.url}/admin/")
        row = page.locator('tr[data-schedule="Platform primary"]')
        text = row.inner_text()
        assert "America/New_York" in text
        assert "Alice Example" in text or "Bob Example" in text
        assert " ES" in text or " ED" in text  # EST/EDT: the schedule's zone, named
        incidents = page.locator('tr[data-service="checkout-api"]').inner_text()
        assert "1" in incidents
        assert page.locator(".app-system").is_visible()
        assert page.locator(".app-system a.addlink").count() == 0
        check_layout(page, "admin-home")
        assert page.problems == []
