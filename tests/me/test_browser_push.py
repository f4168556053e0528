"""/me/contact/, "Page me on this device", in Chromium at 390x844 and 1280x800 under the
self-only CSP. Headless Chromium has no push service: ``PushManager.subscribe`` is
stubbed in the page to answer a subscription made at the loopback push service (with
the key the page passed). The service worker itself is the real one: registered from
the page, and fed a real page's payload through DevTools (``deliverPushMessage``) to
show the notification with its Acknowledge action. Screenshots var/screenshots/me-push-*.
"""

from __future__ import annotations

import json

import pytest

from oncall.people.models import ContactMethod, NotificationRule
from paging.channels.webpush.models import WebPushSubscription
from paging.engine import tick
from tests.browser import BROWSER_MARKS, SIZES, check_layout
from tests.channels.webpush.conftest import push_service, vapid_pair  # noqa: F401
from tests.me.conftest import assert_clean, me_page
from tests.support import fire

pytestmark = BROWSER_MARKS

# Stands in for the browser's push service: records what the page asked for (in
# sessionStorage: the form's submission loads a new page) and answers the subscription
# the test made at the loopback push service.
STUB = """
PushManager.prototype.subscribe = async function (options) {
  const key = new Uint8Array(options.applicationServerKey);
  sessionStorage.pushOptions = JSON.stringify({
    userVisibleOnly: options.userVisibleOnly,
    key: btoa(String.fromCharCode(...key))
      .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, ""),
  });
  return subscription();
};
PushManager.prototype.getSubscription = async function () {
  return sessionStorage.pushOptions ? subscription() : null;
};
function subscription() {
  const info = %s;
  return { endpoint: info.endpoint, toJSON: () => info };
}
"""

# The notifications shown, or null while there are none: waited for and read in one
# call (a second read could miss a notification headless Chromium has already closed).
NOTIFICATIONS = """async () => {
  const registration = await navigator.serviceWorker.getRegistration("/static/webpush/");
  const shown = await registration.getNotifications();
  return shown.length ? shown.map((n) => ({
    title: n.title, body: n.body, tag: n.tag, data: n.data,
    actions: n.actions.map((a) => [a.action, a.title]),
  })) : null;
}"""


def _registration_id(cdp, page) -> str:
    """The service worker registration's id, as DevTools names it."""
    found: list[str] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: found.extend(
            r["registrationId"] for r in event["registrations"] if not r["isDeleted"]
        ),
    )
    cdp.send("ServiceWorker.enable")
    page.wait_for_timeout(200)  # the enable call replays the registrations as events
    assert found, "no service worker registration"
    return found[-1]


@pytest.mark.parametrize("size", SIZES)
def test_page_me_on_this_device(live_server, live_cast, push_service, vapid_pair, size):  # noqa: F811
    lena = live_cast.lena
    browser_side = push_service.subscribe(vapid_pair[1])
    with me_page(live_server, lena.user, size) as page:
        page.context.grant_permissions(["notifications"], origin=live_server.url)
        page.add_init_script(STUB % json.dumps(browser_side.info()))
        page.goto(f"{live_server.url}/me/contact/")
        button = page.get_by_role("button", name="Page me on this device")
        assert button.is_enabled()
        check_layout(page, "me-push-before")
        page.get_by_label("Name this device (optional)").fill("Work phone")
        button.click()
        page.wait_for_selector(".outcome")
        assert (
            "Added Work phone (Web push): pages now reach this browser."
            in page.locator(".outcome").inner_text()
        )
        # The page subscribed with our VAPID public key, for visible notifications only.
        assert page.evaluate("JSON.parse(sessionStorage.pushOptions)") == {
            "userVisibleOnly": True,
            "key": vapid_pair[1],
        }
        cm = ContactMethod.objects.get(engineer=lena, kind="webpush")
        stored = WebPushSubscription.objects.get(ref=cm.value)
        assert (stored.endpoint, stored.p256dh, stored.auth) == (
            browser_side.endpoint,
            browser_side.p256dh,
            browser_side.auth,
        )
        assert cm.label == "Work phone" and cm.is_pageable
        assert f"{cm.value} · ready" in page.locator(f"#method-{cm.pk}").inner_text()
        # The page recognises this browser's subscription among my methods.
        page.wait_for_function("document.getElementById('push-state').textContent !== ''")
        assert page.locator("#push-state").inner_text() == (
            "This browser is paged as Work phone (Web push): ready."
        )
        check_layout(page, "me-push-subscribed")

        # A page to it reaches the push service once; the real service worker shows it.
        page.get_by_label("Urgency").select_option("high")
        page.get_by_label("Notify").select_option(label="Work phone (Web push)")
        page.get_by_label("After (minutes; 0 = at once)").fill("0")
        page.get_by_role("button", name="Add the rule").click()
        page.wait_for_selector("ol.ladder li")
        assert NotificationRule.objects.get(engineer=lena).contact_method == cm
        incident = fire([lena])
        tick()
        # (Lena's shift reminder arrives too: she is on the rotation.)
        got = push_service.take()
        [push] = [p for p in got if p.payload["tag"].startswith("incident-")]
        assert push.subscription == browser_side.id

        cdp = page.context.new_cdp_session(page)
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {
                "origin": live_server.url,
                "registrationId": _registration_id(cdp, page),
                "data": json.dumps(push.payload),
            },
        )
        [shown] = page.wait_for_function(NOTIFICATIONS, polling=100).json_value()
        assert shown["title"] == f"[HIGH] #{incident.pk} DB down"
        assert shown["tag"] == f"incident-{incident.pk}"
        assert shown["actions"] == [["acknowledge", "Acknowledge"]]
        assert shown["data"]["ack_url"] == push.payload["ack_url"]
        assert_clean(page)


def test_a_browser_without_the_push_api_says_so(live_server, live_cast, push_service):  # noqa: F811
    with me_page(live_server, live_cast.lena.user, "390x844") as page:
        page.add_init_script("delete window.PushManager;")
        page.goto(f"{live_server.url}/me/contact/")
        assert page.get_by_role("button", name="Page me on this device").is_disabled()
        assert "cannot receive push notifications" in page.locator("#push-state").inner_text()
        check_layout(page, "me-push-unsupported")
        assert_clean(page)
