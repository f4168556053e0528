"""Subscribing a browser on /me/contact/: the posted subscription (endpoint, keys) is
checked field by field (400 naming the field, nothing stored), becomes a web-push
contact method through the people service (audited, pageable at once, usable in
rules), and posting it again changes nothing (or enables a disabled method).
Also: the VAPID settings checked at start-up, and ``manage.py webpush_keys``."""

from __future__ import annotations

import base64
import io
import re

import pytest
import yaml
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from rest_framework.test import APIClient

from oncall.audit.models import AuditEntry
from oncall.people.models import ContactMethod
from oncall.people.services.directory import contact_method_disable
from paging.channels.webpush.models import WebPushSubscription
from paging.channels.webpush.subscriptions import device_label, subscription_ref
from paging.channels.webpush.vapid import vapid_public_key, vapid_settings_check
from tests.channels.webpush.conftest import CHROME_ANDROID, browser_subscribes
from tests.factories import EngineerFactory

pytestmark = pytest.mark.django_db

URL = "/me/contact/push/"


@pytest.fixture
def lena():
    return EngineerFactory(user__username="lena", display_name="Lena")


@pytest.fixture
def browser(lena) -> Client:
    client = Client(HTTP_USER_AGENT=CHROME_ANDROID)
    client.force_login(lena.user)
    return client


def posted(sub, **changes) -> dict[str, str]:
    info = sub.info()
    return {
        "endpoint": info["endpoint"],
        "p256dh": info["keys"]["p256dh"],
        "auth": info["keys"]["auth"],
        "label": "",
        **changes,
    }


def test_the_contact_page_offers_push_with_our_key(browser, push_service) -> None:
    page = browser.get("/me/contact/").content.decode()
    assert f'data-vapid-key="{vapid_public_key()}"' in page
    assert 'src="/static/webpush/subscribe-1.js"' in page
    assert 'data-worker="/static/webpush/sw-1.js"' in page
    assert "Page me on this device" in page
    # A push method is subscribed, never typed: not among the kinds of the add form.
    kinds = re.search(r'<select name="kind".*?</select>', page, re.S).group(0)
    assert 'value="sms"' in kinds and 'value="webpush"' not in kinds


def test_without_a_key_the_page_says_push_is_not_set_up(browser, settings) -> None:
    settings.WEBPUSH_VAPID_PRIVATE_KEY = ""
    page = browser.get("/me/contact/").content.decode()
    assert "push-form" not in page and "WEBPUSH_VAPID_PRIVATE_KEY" in page


def test_a_subscription_becomes_a_pageable_method(browser, lena, push_service, vapid_pair) -> None:
    sub = push_service.subscribe(vapid_pair[1])
    answer = browser.post(URL, posted(sub))
    assert answer.status_code == 302 and answer["Location"] == "/me/contact/"

    cm = ContactMethod.objects.get(engineer=lena)
    assert (cm.kind, cm.value, cm.label) == (
        "webpush",
        subscription_ref(sub.endpoint),
        "Chrome on Android",
    )
    assert cm.value.startswith(f"127.0.0.1:{push_service.port}/")
    assert cm.is_pageable and not cm.needs_verification
    stored = WebPushSubscription.objects.get(ref=cm.value)
    assert (stored.endpoint, stored.p256dh, stored.auth) == (sub.endpoint, sub.p256dh, sub.auth)
    assert AuditEntry.objects.filter(action="create", object_repr__contains=cm.value).count() >= 1

    page = browser.get("/me/contact/").content.decode()
    assert "Added Chrome on Android (Web push): pages now reach this browser." in page
    assert f"{cm.value} · ready" in page

    # Usable in a ladder, like SMS.
    api = APIClient()
    api.force_authenticate(lena.user)
    rule = api.post(
        "/api/v1/notification-rules/",
        {"contact_method": cm.pk, "delay_minutes": 0, "urgency": "high"},
        format="json",
    )
    assert rule.status_code == 201, rule.content


def test_subscribing_again_keeps_one_method_and_enables_it(
    browser, lena, push_service, vapid_pair
) -> None:
    sub = push_service.subscribe(vapid_pair[1])
    browser.post(URL, posted(sub, label="Work phone"))
    browser.post(URL, posted(sub))
    cm = ContactMethod.objects.get(engineer=lena)
    assert cm.label == "Work phone"  # an empty label leaves the one given
    assert (
        "already subscribed as Work phone (Web push)"
        in browser.get("/me/contact/").content.decode()
    )

    contact_method_disable(contact_method=cm, reason="the push service answered 410")
    browser.post(URL, posted(sub))
    cm.refresh_from_db()
    assert cm.disabled_at is None
    assert ContactMethod.objects.filter(engineer=lena).count() == 1
    assert WebPushSubscription.objects.count() == 1


def _b64(n: int) -> str:
    return base64.urlsafe_b64encode(b"\x04" * n).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"endpoint": "http://push.example.test/x"}, "endpoint", "must be an https:// URL"),
        ({"endpoint": ""}, "endpoint", "is required"),
        ({"endpoint": "https://user:pw@push.example.test/x"}, "endpoint", "no user name"),
        ({"endpoint": "https://push.example.test/" + "x" * 2048}, "endpoint", "longer than 2048"),
        ({"p256dh": _b64(64)}, "p256dh", "65 bytes"),
        ({"p256dh": "not base64!"}, "p256dh", "65 bytes"),
        ({"p256dh": _b64(65)}, "p256dh", "not a point on the P-256 curve"),
        ({"auth": _b64(15)}, "auth", "16 bytes"),
        ({"auth": ""}, "auth", "16 bytes"),
    ],
)
def test_a_bad_subscription_is_refused_naming_the_field(
    browser, lena, push_service, vapid_pair, changes, field, reason
) -> None:
    sub = push_service.subscribe(vapid_pair[1])
    answer = browser.post(URL, posted(sub, **changes))
    assert answer.status_code == 400
    problem = re.search(
        r'<p class="problem" role="alert">(.*?)</p>', answer.content.decode()
    ).group(1)
    assert problem.startswith("Push subscription refused: ")
    assert f"{field} " in problem and reason in problem
    assert not ContactMethod.objects.filter(engineer=lena).exists()
    assert not WebPushSubscription.objects.exists()


def test_an_empty_post_names_every_field(browser, push_service) -> None:
    answer = browser.post(URL, {})
    assert answer.status_code == 400
    text = answer.content.decode()
    for field in ("endpoint is required", "p256dh must be", "auth must be"):
        assert field in text


def test_push_not_set_up_refuses_a_subscription(browser, lena, settings) -> None:
    settings.WEBPUSH_VAPID_PRIVATE_KEY = ""
    answer = browser.post(URL, {"endpoint": "https://push.example.test/x"})
    assert answer.status_code == 400
    assert b"web push is not set up on this server" in answer.content


def test_signed_out_and_get_are_refused(push_service) -> None:
    assert Client().post(URL, {}).status_code == 302  # to the sign-in page
    client = Client()
    client.force_login(EngineerFactory().user)
    assert client.get(URL).status_code == 405


def test_the_api_takes_only_the_ref_of_a_stored_subscription(
    browser, lena, push_service, vapid_pair
) -> None:
    api = APIClient()
    api.force_authenticate(lena.user)
    refused = api.post(
        "/api/v1/contact-methods/",
        {"kind": "webpush", "value": "push.example.test/x"},
        format="json",
    )
    assert refused.status_code == 400
    assert "subscribe a browser on /me/contact/" in " ".join(refused.json()["value"])
    unknown = "push.example.test/" + "0" * 20
    refused = api.post(
        "/api/v1/contact-methods/", {"kind": "webpush", "value": unknown}, format="json"
    )
    assert refused.status_code == 400
    assert "no browser subscription" in " ".join(refused.json()["value"])

    sub = push_service.subscribe(vapid_pair[1])
    browser.post(URL, posted(sub, label="Laptop"))
    listed = api.get("/api/v1/contact-methods/").json()["results"]
    assert [(m["kind"], m["label"], m["is_pageable"]) for m in listed] == [
        ("webpush", "Laptop", True)
    ]


def test_device_labels() -> None:
    assert device_label(CHROME_ANDROID) == "Chrome on Android"
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    assert device_label(firefox) == "Firefox on Linux"
    safari = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
    )
    assert device_label(safari) == "Safari on iPhone"
    assert device_label("curl/8.0") == ""


def test_the_vapid_settings_are_checked_at_start_up(settings) -> None:
    settings.WEBPUSH_VAPID_PRIVATE_KEY = "not-a-key"
    with pytest.raises(ImproperlyConfigured, match="^WEBPUSH_VAPID_PRIVATE_KEY: not a VAPID"):
        vapid_settings_check()
    settings.WEBPUSH_VAPID_PRIVATE_KEY = ""
    settings.WEBPUSH_VAPID_SUBJECT = "oncall@example.test"
    with pytest.raises(ImproperlyConfigured, match="^WEBPUSH_VAPID_SUBJECT: "):
        vapid_settings_check()
    settings.WEBPUSH_VAPID_SUBJECT = ""
    vapid_settings_check()  # off, and the default subject is mailto:DEFAULT_FROM_EMAIL


def test_webpush_keys_prints_a_pair_the_server_takes(settings) -> None:
    out = io.StringIO()
    call_command("webpush_keys", stdout=out)
    private = re.search(r"^WEBPUSH_VAPID_PRIVATE_KEY=(\S+)$", out.getvalue(), re.M).group(1)
    public = re.search(r"derived from it\): (\S+)$", out.getvalue(), re.M).group(1)
    settings.WEBPUSH_VAPID_PRIVATE_KEY = private
    vapid_settings_check()
    assert vapid_public_key() == public
    assert len(base64.urlsafe_b64decode(public + "=")) == 65
    shown = io.StringIO()
    call_command("webpush_keys", "--show", stdout=shown)
    assert shown.getvalue().strip() == public


def test_the_config_file_keeps_a_subscribed_method(tmp_path, lena, push_service, vapid_pair):
    """``oncall_export`` names the method by its ref; applying the file to the same
    database changes nothing, and a ref no subscription has is refused naming the path."""
    cm, _ = browser_subscribes(push_service, lena, vapid_pair[1], label="Phone")
    cm.notification_rules.create(engineer=lena, delay_minutes=0, urgency="high")
    exported = tmp_path / "oncall.yaml"
    call_command("oncall_export", "-o", str(exported), stderr=io.StringIO())
    assert f"value: {cm.value}" in exported.read_text()
    out = io.StringIO()
    call_command("oncall_apply", str(exported), stdout=out)
    assert out.getvalue().strip() == "No changes."

    doc = yaml.safe_load(exported.read_text())
    [method] = doc["engineers"][0]["contact_methods"]
    method["value"] = "push.example.test/" + "0" * 20
    exported.write_text(yaml.safe_dump(doc))
    with pytest.raises(CommandError, match=r"engineers\[0\]\.contact_methods\[0\].*no browser"):
        call_command("oncall_apply", str(exported), stdout=io.StringIO())
