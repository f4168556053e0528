"""Failures before the push service answers: nothing sent (a refused connection, an
untrusted certificate) is retried without doubt; the TLS failure's ``ssl`` error (whose
``reason`` is a string) is classified, not crashed on."""

from __future__ import annotations

import pytest
import requests

from paging.channels.twilio.errors import request_never_left
from paging.channels.webpush.models import WebPushSubscription
from paging.engine import tick
from paging.models import Message
from paging.test_pages import contact_method_send_test
from tests.channels.webpush.conftest import browser_subscribes
from tests.factories import EngineerFactory
from tests.fakes.net import refusing_url

pytestmark = pytest.mark.django_db


def test_an_untrusted_certificate_sent_nothing(clock, push_service, vapid_pair, settings) -> None:
    settings.WEBPUSH_CA_FILE = ""  # the system's trust store does not know the fake's CA
    cm, sub = browser_subscribes(push_service, EngineerFactory(), vapid_pair[1])
    with pytest.raises(requests.exceptions.SSLError) as caught:
        requests.post(sub.endpoint, timeout=2, verify=True)
    assert request_never_left(caught.value) is False  # a string ``reason`` in the chain

    contact_method_send_test(contact_method=cm)
    tick()
    message = Message.objects.get(contact_method=cm)
    assert message.status == "pending"
    assert message.last_error.startswith("push service TLS failed")
    assert message.attempt_started_at is None  # not in doubt: nothing went out
    assert push_service.requests == 0


def test_a_refused_connection_sent_nothing(clock, push_service, vapid_pair) -> None:
    cm, sub = browser_subscribes(push_service, EngineerFactory(), vapid_pair[1])
    with refusing_url() as url:
        WebPushSubscription.objects.filter(ref=cm.value).update(
            endpoint=url.replace("http://", "https://") + "/push/x"
        )
        contact_method_send_test(contact_method=cm)
        tick()
    message = Message.objects.get(contact_method=cm)
    assert message.status == "pending"
    assert message.last_error.startswith("push service unreachable")
    assert message.attempt_started_at is None
