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
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SIZES = {"1280x800": DESKTOP, "390x844": PHONE}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}

# Records CSP violations in window.__csp before any of the page's own scripts run (an
# init script is not subject to the page's CSP): page.add_init_script(CSP_LISTENER).
CSP_LISTENER = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__csp.push(
    `${e.violatedDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`);
});
"""

browser_marks = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAS_CHROMIUM, reason=f"{CHROMIUM} is absent: apt-get install chromium"),
]

BROWSER_MARKS = [*browser_marks, pytest.mark.django_db(transaction=True)]


@contextmanager
def signed_in_page(live_server_url: str, user: Any, **context_options: Any) -> Iterator[Any]:
    """A Playwright page carrying ``user``'s session, if any (create users before: no ORM
    in here).

    Errors thrown by the page's scripts are collected in ``page.errors``."""
    from playwright.sync_api import sync_playwright

    cookies = []
    if user is not None:  # None: a visitor who is not signed in
        client = Client()
        client.force_login(user)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        cookies = [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server_url}]
    context_options.setdefault("viewport", {"width": 1280, "height": 800})
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = browser.new_context(**context_options)
            context.add_cookies(cookies)
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
    for label, viewport in VIEWPORTS.items():
        page.set_viewport_size(viewport)
        page.goto(url)
        page.wait_for_selector(ready)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}-first-screen.png"))
        sizes = overflow(page)
        assert sizes["page"] <= 0 and sizes["content"] <= 0, (name, label, sizes)


@contextmanager
def logged_in_page(live_server: Any, user: Any, viewport: dict[str, int]) -> Iterator[Any]:
    """``admin_browser`` at ``viewport``, collecting page errors, failed requests and
    4xx/5xx answers in ``page.problems``."""
    pytest.importorskip("playwright.sync_api")
    with signed_in_page(live_server.url, user) as page:
        page.set_viewport_size(viewport)
        problems = page.errors
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
