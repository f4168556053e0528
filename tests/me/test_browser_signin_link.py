"""The e-mailed sign-in link in Chromium at 390x844 under the self-only CSP: ask on
/me/login/, open the link from the mail, sign in, land on /me/. Screenshots
var/screenshots/me-signin-link-*."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import cache

from tests.browser import BROWSER_MARKS, check_layout
from tests.me.conftest import assert_clean, me_page

pytestmark = BROWSER_MARKS


@pytest.mark.parametrize("size", ["390x844"])
def test_sign_in_by_link_from_the_mail(live_server, live_cast, size) -> None:
    cache.clear()
    lena = live_cast.lena.user
    lena.email = "lena@example.test"
    lena.save()
    with me_page(live_server, None, size) as page:
        page.goto(f"{live_server.url}/me/login/")
        check_layout(page, "me-signin-link-ask")
        page.get_by_label("Your e-mail address").fill("lena@example.test")
        page.get_by_role("button", name="E-mail me a sign-in link").click()
        page.wait_for_selector("[role=status]")
        assert "a sign-in link is on its way" in page.inner_text("main")
        check_layout(page, "me-signin-link-sent")
        path = re.search(r"(/me/login/link/\S+/)", mail.outbox[-1].body).group(1)
        page.goto(live_server.url + path)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/me/")
        assert "Lena" in page.inner_text("main")
        check_layout(page, "me-signin-link-home")
        assert_clean(page)
