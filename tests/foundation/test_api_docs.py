"""/api/docs/ is served from our own static files: it renders with no internet."""

from __future__ import annotations

import os
import re
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import UserFactory

CHROMIUM = "/usr/bin/chromium"


@pytest.mark.django_db
def test_docs_page_loads_its_assets_from_this_server(client: Client) -> None:
    client.force_login(UserFactory(is_staff=True))
    html = client.get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("swagger-ui-bundle.js" in a for a in assets), assets
    for asset in assets:
        assert not urlparse(asset).netloc, f"{asset} is fetched from another host"


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent")
def test_swagger_ui_renders_the_schema_offline(live_server, transactional_db) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    client = Client()
    client.force_login(UserFactory(is_staff=True))
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    last_path = list(client.get("/api/schema/", {"format": "json"}).json()["paths"])[-1]
    own = urlparse(live_server.url).netloc
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = browser.new_context()
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
            )
            foreign: list[str] = []
            # Anything not on this server is refused, as on a machine with no internet.
            context.route(
                "**/*",
                lambda route: (
                    route.continue_()
                    if urlparse(route.request.url).netloc == own
                    else (foreign.append(route.request.url), route.abort())
                ),
            )
            page = context.new_page()
            page.goto(f"{live_server.url}/api/docs/")
            page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
            title = page.inner_text(".swagger-ui .info .title")
            first_screen = page.locator(".opblock").count()
            # Swagger UI renders a long list of operations as it is scrolled into view:
            # scroll until the last path of the schema has been drawn.
            last = page.locator(f'.opblock-summary-path[data-path="{last_path}"]')
            for _ in range(200):
                if last.count():
                    break
                page.mouse.wheel(0, 1500)
                page.wait_for_timeout(50)
            reached_the_end = last.count() > 0
        finally:
            browser.close()
    assert foreign == []
    assert title.startswith("On-call and paging API")
    assert first_screen >= 10
    assert reached_the_end
