"""Web-push fixtures: a VAPID key pair in the settings, the loopback push service
(``tests/fakes/webpush.py``) they trust, and engineers subscribed to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from oncall.people.models import ContactMethod, Engineer
from paging.channels.webpush.subscriptions import webpush_subscribe
from paging.channels.webpush.vapid import vapid_keys_generate
from tests.factories import EngineerFactory, NotificationRuleFactory
from tests.fakes.webpush import FakePushService, FakeSubscription

# fire(): opens an incident on service "payments" whose policy pages the given engineers.
from tests.support import fire  # noqa: F401

PUBLIC = "https://oncall.example.test"
SUBJECT = "mailto:oncall@example.test"
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Mobile Safari/537.36"
)


@pytest.fixture(scope="session")
def vapid_pair() -> tuple[str, str]:
    """(private, public) VAPID keys, base64url."""
    return vapid_keys_generate()


@pytest.fixture
def push_service(settings, vapid_pair) -> Iterator[FakePushService]:
    fake = FakePushService().start()
    settings.WEBPUSH_VAPID_PRIVATE_KEY = vapid_pair[0]
    settings.WEBPUSH_VAPID_SUBJECT = SUBJECT
    settings.WEBPUSH_CA_FILE = fake.ca_file
    settings.WEBPUSH_TIMEOUT_SECONDS = 2
    settings.WEBPUSH_TTL_SECONDS = 3600
    settings.PUBLIC_BASE_URL = PUBLIC
    yield fake
    fake.stop()
    assert fake.refused == [], "the push service refused requests nobody expected"


def browser_subscribes(
    push_service: FakePushService, engineer: Engineer, public_key: str, label: str = ""
) -> tuple[ContactMethod, FakeSubscription]:
    """What /me/contact/ does: the browser subscribes at its push service, and the
    subscription becomes the engineer's web-push contact method."""
    sub = push_service.subscribe(public_key)
    info = sub.info()
    done = webpush_subscribe(
        engineer=engineer,
        endpoint=info["endpoint"],
        p256dh=info["keys"]["p256dh"],
        auth=info["keys"]["auth"],
        label=label,
        user_agent=CHROME_ANDROID,
    )
    return done.contact_method, sub


def paged_engineer(
    push_service: FakePushService, public_key: str, ladder: list[tuple[str, int]] | None = None
) -> tuple[Engineer, ContactMethod, FakeSubscription]:
    """Ada, paged by web push at once (and by ``ladder``'s other methods after)."""
    ada = EngineerFactory(display_name="Ada")
    cm, sub = browser_subscribes(push_service, ada, public_key, label="Phone")
    NotificationRuleFactory(engineer=ada, contact_method=cm, delay_minutes=0)
    for kind, delay in ladder or []:
        other = ada.contact_methods.create(kind=kind, value="ada@example.test")
        NotificationRuleFactory(engineer=ada, contact_method=other, delay_minutes=delay)
    return ada, cm, sub
