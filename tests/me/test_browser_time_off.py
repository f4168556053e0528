"""/me/time-off/ in Chromium at 390x844 and 1280x800 under the self-only CSP: Lena books
a day off in her zone and sees Marco substituting. Screenshots var/screenshots/me-time-off-*."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schedules.models import TimeOff
from tests.browser import BROWSER_MARKS, SIZES, check_layout
from tests.me.conftest import assert_clean, me_page

pytestmark = BROWSER_MARKS


@pytest.mark.parametrize("size", SIZES)
def test_book_time_off_and_see_the_substitute(live_server, live_cast, size) -> None:
    cast = live_cast
    with me_page(live_server, cast.lena.user, size) as page:
        page.goto(f"{live_server.url}/me/")
        page.get_by_role("link", name="Time off").click()
        page.get_by_label("Start (Europe/Berlin)").fill("2026-12-02T00:00")
        page.get_by_label("End (Europe/Berlin)").fill("2026-12-03T00:00")
        page.get_by_label("Reason (optional)").fill("moving house")
        page.get_by_role("button", name="Book time off").click()
        page.wait_for_selector(".covers li")
        assert page.locator(".covers li").inner_text().startswith("Marco · Primary")
        check_layout(page, "me-time-off")
        assert_clean(page)
    entry = TimeOff.objects.get(engineer=cast.lena)
    assert entry.start == datetime(2026, 12, 1, 23, tzinfo=UTC) and entry.note == "moving house"
