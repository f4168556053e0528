"""The webhook admin pages in Chromium at 1280x800 and 390x844: no horizontal
overflow, the secret never in the page (screenshots under var/screenshots/)."""

from __future__ import annotations

import pytest

from paging.channels.webhooks.services import webhook_endpoint_save
from tests.browser import BROWSER_MARKS, check_viewports, signed_in_page
from tests.factories import UserFactory
from tests.paging.factories import ServiceFactory

pytestmark = BROWSER_MARKS

SECRET = "browser-secret-value-9876"


def test_webhook_admin_pages_fit_and_mask_the_secret(live_server) -> None:
    pytest.importorskip("playwright.sync_api")
    user = UserFactory(is_staff=True, is_superuser=True)
    hook = webhook_endpoint_save(
        endpoint=None,
        fields={
            "name": "remediation",
            "service": ServiceFactory(name="Payments"),
            "url": "https://automation.example.com/oncall/incidents/hooks",
            "secret": SECRET,
            "events": ["triggered", "escalated"],
        },
    )
    base = f"{live_server.url}/admin/channels_webhooks/webhookendpoint/"
    with signed_in_page(live_server.url, user) as page:
        check_viewports(page, base, "webhooks-list")
        assert "…9876" in page.content()
        check_viewports(page, f"{base}{hook.pk}/change/", "webhook-change")
        assert SECRET not in page.content()
        assert page.errors == []
