"""A History page in headless Chromium shows the object's audit trail, at desk and phone
widths (screenshots in var/screenshots/)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from oncall.people.services import team_create, team_update
from tests.factories import UserFactory

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent"),
]


def test_history_page_shows_the_audit_trail(live_server, transactional_db) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    team = team_create(name="Payments", description="")
    team_update(team=team, name="Payments platform", description="owns checkout")
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    url = f"{live_server.url}/admin/oncall/team/{team.pk}/history/"
    SHOTS.mkdir(parents=True, exist_ok=True)
    seen = {}
    # No database access from here on: Playwright's sync API runs an event loop.
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            for width, height in ((1280, 800), (390, 844)):
                context = browser.new_context(viewport={"width": width, "height": height})
                context.add_cookies(
                    [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": url}]
                )
                page = context.new_page()
                page.goto(url)
                page.screenshot(path=SHOTS / f"audit_history_{width}.png", full_page=True)
                seen[width] = {
                    "rows": page.locator("#audit-trail > tbody > tr").count(),
                    "text": page.inner_text("#audit-trail"),
                    "scroll": page.evaluate(
                        "document.documentElement.scrollWidth - window.innerWidth"
                    ),
                }
                context.close()
        finally:
            browser.close()
    for width in (1280, 390):
        assert seen[width]["rows"] == 2
        assert "Payments platform" in seen[width]["text"]
        assert "owns checkout" in seen[width]["text"]
        assert " UTC" in seen[width]["text"]
        assert seen[width]["scroll"] <= 0, width  # no sideways page scroll
