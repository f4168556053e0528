"""/me/ in Chromium at 390x844 and 1280x800 under the self-only CSP: sign in through the
form, see my shifts in my zone, acknowledge an incident, subscribe to my calendar (the
feed read back with icalendar). Screenshots under var/screenshots/me-*."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import icalendar
import pytest
from django.test import Client
from playwright.sync_api import sync_playwright

from paging.models import Incident
from schedules.models import FeedToken
from tests.browser import (
    BROWSER_MARKS,
    CHROMIUM,
    CSP_LISTENER,
    SCREENSHOTS,
    SIZES,
    check_layout,
)
from tests.factories import TEST_PASSWORD
from tests.paging.factories import IncidentFactory

pytestmark = BROWSER_MARKS


@pytest.mark.parametrize("size", SIZES)
def test_sign_in_see_shifts_acknowledge_and_subscribe(live_server, live_cast, size) -> None:
    cast = live_cast  # the clock runs from before the rotation starts
    incident = IncidentFactory(title="Disk full on db-1")
    incident.assigned_to.add(cast.lena)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_context(viewport=SIZES[size]).new_page()
            page.add_init_script(CSP_LISTENER)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

            page.goto(f"{live_server.url}/me/")
            assert page.url.endswith("/me/login/?next=/me/")
            check_layout(page, "me-login")
            page.get_by_label("Username").fill("lena")
            page.get_by_label("Password").fill("wrong")
            page.get_by_role("button", name="Sign in").click()
            assert page.get_by_role("alert").inner_text().startswith("Username or password")
            page.get_by_label("Password").fill(TEST_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{live_server.url}/me/")
            assert page.get_by_role("heading", name="Lena").is_visible()
            # The first shift, in Lena's zone (the rotation hands off at 09:00 UTC).
            first = page.locator("li.shift").first.inner_text()
            assert "CET" in first and "10:00" in first and "Days" in first
            check_layout(page, "me-home")
            assert page.evaluate("window.__csp") == []

            page.get_by_role("button", name=f"Acknowledge #{incident.pk}").click()
            page.wait_for_selector(".outcome")
            assert "Acknowledged" in page.locator(".outcome").inner_text()
            incident.refresh_from_db()
            assert (incident.status, incident.acknowledged_via) == (
                Incident.Status.ACKNOWLEDGED,
                "web",
            )

            page.get_by_role("button", name="Make my calendar address").click()
            https = page.get_by_label("Address for Google Calendar").input_value()
            webcal = page.get_by_label("webcal:// address").input_value()
            assert webcal.startswith("webcal://") and https.startswith("https://")
            check_layout(page, "me-calendar")
            assert page.evaluate("window.__csp") == [] and errors == []
        finally:
            browser.close()
    feed = Client().get(urlsplit(https).path)
    calendar = icalendar.Calendar.from_ical(feed.content)
    starts = sorted(e.decoded("DTSTART") for e in calendar.walk("VEVENT"))
    assert starts and all(s.tzinfo is not None for s in starts)
    assert FeedToken.objects.filter(engineer=cast.lena, revoked_at=None).count() == 1
    assert starts[0] == datetime(2026, 11, 30, 9, tzinfo=UTC)  # the rotation's first shift
