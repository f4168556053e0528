"""Shared by the browser tests of the admin pages: a logged-in Chromium page, a layout
check (no sideways overflow, no panel squeezed to nothing) and screenshots under
``var/screenshots/`` (git-ignored; CI keeps them as artifacts)."""

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
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"1280x800": DESKTOP, "390x844": PHONE}

browser_marks = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason=f"{CHROMIUM} is absent: apt-get install -y chromium",
    ),
]


@contextmanager
def logged_in_page(live_server: Any, user: Any, viewport: dict[str, int]) -> Iterator[Any]:
    """A Chromium page whose session is ``user``'s. Collects page errors and failed
    requests and 4xx/5xx answers in ``page.problems``."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = browser.new_context(viewport=viewport)
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
            )
            page = context.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.on("requestfailed", lambda req: problems.append(f"failed: {req.url}"))
            page.on(
                "response",
                lambda r: (
                    problems.append(f"{r.status}: {r.url}")
                    if r.status >= 400 and not r.url.endswith("/favicon.ico")
                    else None
                ),
            )
            page.problems = problems
            yield page
        finally:
            browser.close()


# Panels that must have a real width: the page's sections, modules, forms and tables.
_LAYOUT_JS = """() => {
  const doc = document.documentElement;
  const content = document.getElementById("content") || document.body;
  // #content itself is wider than its box on the admin index by design (the "Recent
  // actions" column hangs in its right margin): the main column is what must fit.
  const main = document.getElementById("content-main") || content;
  const squeezed = [];
  // Wide tables may scroll inside their own box (Django's changelist does on a phone):
  // what must not overflow is that box.
  const scroller = (el) => {
    for (let p = el.parentElement; p && p !== content; p = p.parentElement) {
      const x = getComputedStyle(p).overflowX;
      if (x === "auto" || x === "scroll") return p;
    }
    return null;
  };
  for (const el of content.querySelectorAll("section, .module, form, table, fieldset, .card")) {
    if (el.offsetParent === null) continue;  // not displayed
    const r = (scroller(el) || el).getBoundingClientRect();
    // A form may be a single button; a panel needs room to be read.
    const least = el.tagName === "FORM" ? 40 : 100;
    if (r.width < least || r.right > window.innerWidth + 1 || r.left < -1) {
      const name = `${el.tagName.toLowerCase()}#${el.id}.${el.className}`;
      squeezed.push(`${name}: ${Math.round(r.left)}..${Math.round(r.right)}`);
    }
  }
  return {
    pageOverflow: doc.scrollWidth - doc.clientWidth,
    contentOverflow: main.scrollWidth - main.clientWidth,
    squeezed: squeezed,
  };
}"""


def check_layout(page: Any, name: str) -> None:
    """Screenshot the page as ``name``, then assert nothing overflows sideways and no
    panel is squeezed or pushed off the right edge."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.screenshot(
        path=str(SCREENSHOTS / f"{name}-{size['width']}x{size['height']}.png"), full_page=True
    )
    layout = page.evaluate(_LAYOUT_JS)
    assert layout["pageOverflow"] <= 0, (name, layout)
    assert layout["contentOverflow"] <= 0, (name, layout)
    assert layout["squeezed"] == [], (name, layout)
