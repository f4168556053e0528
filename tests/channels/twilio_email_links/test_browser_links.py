"""The link confirmation page in headless Chromium (Debian's ``chromium`` driven by
Playwright): open the link, see the incident, press Acknowledge, see it acknowledged."""

from __future__ import annotations

import shutil

import pytest

from paging.channels.links.tokens import link_url
from paging.models import Incident
from tests.support import engineer_with, fire

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("tests.channels.twilio_email_links.urls"),
    pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed"),
]


@pytest.fixture
def page(live_server, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser.new_context().new_page()
        browser.close()


def test_open_link_see_incident_press_acknowledge(page) -> None:
    carol = engineer_with("Carol", "+15551230003", [("email", 0)])
    incident = fire([carol], title="Checkout latency above 2 s")
    url = link_url(incident_id=incident.pk, engineer_id=carol.pk, action="acknowledge")

    page.goto(url)
    assert page.locator("#incident-title").inner_text() == "Checkout latency above 2 s"
    assert page.locator("#incident-status").inner_text() == "triggered"
    # Opening the page (as a mail scanner would) changed nothing.
    assert Incident.objects.get(pk=incident.pk).status == "triggered"

    page.click("#confirm")
    page.wait_for_selector("#outcome")
    assert page.locator("#outcome").inner_text() == (
        f"Acknowledged #{incident.pk} Checkout latency above 2 s."
    )
    assert page.locator("#incident-status").inner_text() == "acknowledged"
    incident.refresh_from_db()
    assert (incident.status, incident.acknowledged_by_id, incident.acknowledged_via) == (
        "acknowledged",
        carol.pk,
        "link",
    )

    # The same link again: it says who was first and changes nothing.
    page.goto(url)
    page.click("#confirm")
    page.wait_for_selector("#outcome")
    assert "was already acknowledged by Carol" in page.locator("#outcome").inner_text()


def test_tampered_link_page_in_the_browser(page) -> None:
    carol = engineer_with("Carol", "+15551230003", [("email", 0)])
    incident = fire([carol])
    url = link_url(incident_id=incident.pk, engineer_id=carol.pk, action="acknowledge")
    response = page.goto(url.replace("-a.", "-r."))
    assert response.status == 400
    assert page.locator("h1").inner_text() == "This link is not valid"
    assert Incident.objects.get(pk=incident.pk).status == "triggered"
