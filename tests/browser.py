"""Shared by the browser tests: headless Chromium (Debian's ``chromium``, driven by
Playwright) signed in to the live server as a given user, screenshots under
var/screenshots/, and the "no horizontal overflow" check of UI.md."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

CHROMIUM = "/usr/bin/chromium"
HAS_CHROMIUM = os.path.exists(CHROMIUM)
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not HAS_CHROMIUM, reason=f"{CHROMIUM} is absent: apt-get install chromium"),
]


@contextmanager
def signed_in_page(live_server_url: str, user: Any, **context_options: Any) -> Iterator[Any]:
    """A Playwright page carrying ``user``'s session (create users before: no ORM in here).

    Errors thrown by the page's scripts are collected in ``page.errors``."""
    from playwright.sync_api import sync_playwright

    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    context_options.setdefault("viewport", {"width": 1280, "height": 800})
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = browser.new_context(**context_options)
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server_url}]
            )
            page = context.new_page()
            page.errors = []  # type: ignore[attr-defined]
            page.on("pageerror", lambda exc: page.errors.append(str(exc)))
            yield page
        finally:
            browser.close()


def overflow(page: Any) -> dict:
    """How far the page and the admin's content area are wider than the viewport."""
    return page.evaluate(
        """() => {
            const content = document.getElementById("content") || document.body;
            return {
                page: document.documentElement.scrollWidth - window.innerWidth,
                content: content.scrollWidth - content.clientWidth,
            };
        }"""
    )


def check_viewports(page: Any, url: str, name: str, ready: str = "#content") -> None:
    """Load ``url`` at 1280x800 and 390x844: no horizontal overflow; a screenshot each."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.goto(url)
        page.wait_for_selector(ready)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}-first-screen.png"))
        sizes = overflow(page)
        assert sizes["page"] <= 0 and sizes["content"] <= 0, (name, label, sizes)
