"""Headless Chromium (Debian's ``chromium``, driven by Playwright) signed in to the live
server as a given user: shared by the browser tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.test import Client

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed"),
]


@contextmanager
def signed_in_page(live_server: Any, user: Any, **context_options: Any) -> Iterator[Any]:
    """A page whose browser carries ``user``'s session cookie for ``live_server``."""
    client = Client()
    client.force_login(user)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(**context_options)
        context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": client.cookies["sessionid"].value,
                    "url": live_server.url,
                }
            ]
        )
        try:
            yield context.new_page()
        finally:
            browser.close()
