"""/me/swaps/ in Chromium at 390x844 and 1280x800 under the self-only CSP: Lena asks
Marco to take her first shift; Marco opens the signed link from the SMS (loopback Twilio)
without signing in and accepts; the shift is his."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from paging.engine import tick
from schedules.models import SwapRequest
from schedules.selectors import oncall_engineer_ids
from tests.browser import BROWSER_MARKS, SIZES, check_layout
from tests.factories import ContactMethodFactory
from tests.me.conftest import assert_clean, me_page

pytestmark = BROWSER_MARKS


@pytest.mark.parametrize("size", SIZES)
def test_ask_and_accept_a_swap(live_server, live_cast, fake_twilio, size) -> None:
    cast = live_cast
    ContactMethodFactory(engineer=cast.marco, kind="sms", value="+15551230011")
    with me_page(live_server, cast.lena.user, size) as page:
        page.goto(f"{live_server.url}/me/")
        page.get_by_role("link", name="Swaps").click()
        page.get_by_label("My shift", exact=True).select_option(index=0)
        page.get_by_label("Teammate", exact=True).select_option(label="Marco")
        page.get_by_label("Message (optional)").fill("dentist")
        page.get_by_role("button", name="Ask", exact=True).click()
        page.wait_for_selector(".outcome")
        check_layout(page, "me-swaps-asked")
        assert_clean(page)
    swap = SwapRequest.objects.get()
    tick()
    sms = [r for r in fake_twilio.take() if r.form["To"] == "+15551230011"][-1].form["Body"]
    link = re.search(r"https://oncall\.example\.test(/me/swaps/l/\S+/)", sms).group(1)
    with me_page(live_server, cast.marco.user, size) as page:
        page.context.clear_cookies()  # the link works without signing in
        page.goto(f"{live_server.url}{link}")
        check_layout(page, "me-swap-link")
        page.get_by_role("button", name="Accept").click()
        page.wait_for_selector(".outcome")
        assert page.locator(".outcome").inner_text() == "Swap accepted."
        assert_clean(page)
    swap.refresh_from_db()
    assert swap.status == "accepted"
    at = datetime(2026, 11, 30, 12, tzinfo=UTC)
    assert oncall_engineer_ids(schedule_id=cast.schedule.pk, at=at) == [cast.marco.pk]
