"""/me/time-off/ in Chromium at 390x844 and 1280x800 under the self-only CSP: Lena books
a day off in her zone and sees Marco substituting. Screenshots var/screenshots/me-time-off-*."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from schedules.models import TimeOff
from tests.browser import BROWSER_MARKS, SIZES, check_layout, signed_in_page
from tests.me.conftest import T0, make_cast
from tests.security.test_browser_csp import LISTEN

pytestmark = BROWSER_MARKS


@pytest.mark.parametrize("size", SIZES)
def test_book_time_off_and_see_the_substitute(live_server, monkeypatch, request, size) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    traveller = time_machine.travel(T0, tick=True)
    traveller.start()
    request.addfinalizer(traveller.stop)
    cast = make_cast()
    with signed_in_page(live_server.url, cast.lena.user, viewport=SIZES[size]) as page:
        page.add_init_script(LISTEN)
        page.goto(f"{live_server.url}/me/")
        page.get_by_role("link", name="Time off").click()
        page.get_by_label("Start (Europe/Berlin)").fill("2026-12-02T00:00")
        page.get_by_label("End (Europe/Berlin)").fill("2026-12-03T00:00")
        page.get_by_label("Reason (optional)").fill("moving house")
        page.get_by_role("button", name="Book time off").click()
        page.wait_for_selector(".covers li")
        assert page.locator(".covers li").inner_text().startswith("Marco · Primary")
        check_layout(page, "me-time-off")
        assert page.evaluate("window.__csp") == [] and page.errors == []
    entry = TimeOff.objects.get(engineer=cast.lena)
    assert entry.start == datetime(2026, 12, 1, 23, tzinfo=UTC) and entry.note == "moving house"
