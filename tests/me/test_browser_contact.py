"""/me/contact/ in Chromium at 390x844 and 1280x800 under the self-only CSP: add a phone,
verify it with the code the loopback Twilio received, build a ladder, send a test page
that arrives at the fake Twilio, and see its result. Screenshots var/screenshots/me-contact-*."""

from __future__ import annotations

import re

import pytest

from oncall.people.models import ContactMethod, NotificationRule
from paging.engine import tick
from tests.browser import BROWSER_MARKS, SIZES, check_layout
from tests.factories import ContactMethodFactory, NotificationRuleFactory
from tests.me.conftest import assert_clean, me_page

pytestmark = BROWSER_MARKS


@pytest.mark.parametrize("size", SIZES)
def test_add_verify_ladder_and_test_page(live_server, live_cast, fake_twilio, size):
    cast = live_cast
    with me_page(live_server, cast.lena.user, size) as page:
        page.goto(f"{live_server.url}/me/")
        page.get_by_role("link", name="How I'm paged").click()
        page.get_by_label("Kind").select_option("sms")
        page.get_by_label("Value").fill("+49 151 555 0101")
        page.get_by_label("Label").fill("Mobile")
        page.get_by_role("button", name="Add", exact=True).click()
        page.wait_for_selector(".outcome")
        page.get_by_role("button", name="Send a code to Mobile (SMS)").click()
        page.wait_for_selector(".outcome")
        tick()
        code = re.search(r"\b(\d{6})\b", fake_twilio.take_one().form["Body"]).group(1)
        page.get_by_label("Code sent to Mobile (SMS)").fill(code)
        page.get_by_role("button", name="Verify Mobile (SMS)").click()
        assert "is verified" in page.locator(".outcome").inner_text()
        phone = ContactMethod.objects.get(engineer=cast.lena)
        assert phone.verified_at is not None and phone.value == "+491515550101"

        page.get_by_label("Urgency").select_option("high")
        page.get_by_label("Notify").select_option(label="Mobile (SMS)")
        page.get_by_label("After (minutes; 0 = at once)").fill("1")
        page.get_by_role("button", name="Add the rule").click()
        page.wait_for_selector("ol.ladder li")
        assert "Mobile (SMS) after 1 min" in page.locator("ol.ladder").inner_text()
        assert NotificationRule.objects.get(engineer=cast.lena).delay_minutes == 1
        rule = NotificationRule.objects.get(engineer=cast.lena)
        page.get_by_text("Edit…").nth(1).click()  # the rung's (the method's is first)
        rung = page.locator(f"#rung-{rule.pk}")
        rung.get_by_label("After (minutes; 0 = at once)", exact=True).fill("2")
        rung.get_by_label("Urgency", exact=True).select_option("low")
        check_layout(page, "me-contact-rung-edit")
        rung.get_by_role("button", name="Save Mobile (SMS) after 1 min (High urgency)").click()
        page.wait_for_selector(".outcome")
        assert "Now Mobile (SMS) after 2 min (low urgency)" in page.locator(".outcome").inner_text()
        assert "Mobile (SMS) after 2 min" in page.locator("ol.ladder").inner_text()
        rule.refresh_from_db()
        assert (rule.delay_minutes, rule.urgency) == (2, "low")
        slack = NotificationRuleFactory(
            engineer=cast.lena,
            contact_method=ContactMethodFactory(engineer=cast.lena, kind="slack", label="Slack"),
            delay_minutes=5,
            urgency="low",
        )
        page.reload()
        page.get_by_role("button", name="Move Slack (Slack) after 5 min (Low urgency) up").click()
        page.wait_for_selector(".outcome")
        assert "Slack (Slack) now after 2 min" in page.locator(".outcome").inner_text()
        slack.refresh_from_db()
        rule.refresh_from_db()
        assert (slack.delay_minutes, rule.delay_minutes) == (2, 5)
        check_layout(page, "me-contact-ladder")

        page.get_by_role("button", name="Send me a test page via Mobile (SMS)").click()
        page.wait_for_selector(".outcome")
        tick()
        arrived = [r for r in fake_twilio.take() if r.form["Body"].startswith("Test page")]
        assert [r.form["To"] for r in arrived] == ["+491515550101"]
        page.reload()
        assert ": sent at" in page.locator(".result").inner_text()
        check_layout(page, "me-contact")
        assert_clean(page)
