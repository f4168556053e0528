"""/me/swaps/ in Chromium at 390x844 and 1280x800 under the self-only CSP: Lena asks
Marco to take her first shift, Marco accepts on his page; the shift is his."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from schedules.models import SwapRequest
from schedules.selectors import oncall_engineer_ids
from tests.browser import BROWSER_MARKS, SIZES, check_layout, signed_in_page
from tests.me.conftest import T0, make_cast
from tests.security.test_browser_csp import LISTEN

pytestmark = BROWSER_MARKS


@pytest.mark.parametrize("size", SIZES)
def test_ask_and_accept_a_swap(live_server, monkeypatch, request, size) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    traveller = time_machine.travel(T0, tick=True)
    traveller.start()
    request.addfinalizer(traveller.stop)
    cast = make_cast()
    with signed_in_page(live_server.url, cast.lena.user, viewport=SIZES[size]) as page:
        page.add_init_script(LISTEN)
        page.goto(f"{live_server.url}/me/")
        page.get_by_role("link", name="Swaps").click()
        page.get_by_label("My shift", exact=True).select_option(index=0)
        page.get_by_label("Teammate", exact=True).select_option(label="Marco")
        page.get_by_label("Message (optional)").fill("dentist")
        page.get_by_role("button", name="Ask", exact=True).click()
        page.wait_for_selector(".outcome")
        check_layout(page, "me-swaps-asked")
        assert page.evaluate("window.__csp") == [] and page.errors == []
    swap = SwapRequest.objects.get()
    with signed_in_page(live_server.url, cast.marco.user, viewport=SIZES[size]) as page:
        page.add_init_script(LISTEN)
        page.goto(f"{live_server.url}/me/swaps/")
        check_layout(page, "me-swaps-incoming")
        page.get_by_role("button", name=f"Accept swap #{swap.pk}").click()
        page.wait_for_selector(".outcome")
        assert "Accepted" in page.locator(".outcome").inner_text()
        assert page.evaluate("window.__csp") == [] and page.errors == []
    swap.refresh_from_db()
    assert swap.status == "accepted"
    at = datetime(2026, 11, 30, 12, tzinfo=UTC)
    assert oncall_engineer_ids(schedule_id=cast.schedule.pk, at=at) == [cast.marco.pk]
