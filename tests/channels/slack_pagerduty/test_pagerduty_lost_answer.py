"""PagerDuty forwarding when the answer is lost: "maybe sent", and a resend carries the
same dedup_key (PagerDuty deduplicates it), so no lookup is needed."""

from __future__ import annotations

import pytest
from django.db import transaction

from paging.channels import Reconcilable, TransportError
from paging.channels.pagerduty.forwarding import PagerDutyTransport
from paging.channels.pagerduty.triggers import pagerduty_forward_trigger
from tests.channels.slack_pagerduty.conftest import fire
from tests.fakes.net import refusing_url, unanswered_connect_url

pytestmark = pytest.mark.django_db

ROUTING_KEY = "R0UT1NGKEY0000000000000000000001"


@pytest.fixture
def short_timeout(monkeypatch) -> None:
    monkeypatch.setattr("paging.channels.pagerduty.events_client.TIMEOUT_SECONDS", 0.3)


def test_lost_answer_is_maybe_sent_and_the_resend_is_the_same_event(
    clock, cast, fake_pagerduty, short_timeout
) -> None:
    incident = fire(cast.service)
    with transaction.atomic():
        row = pagerduty_forward_trigger(
            incident_id=incident.pk, address=ROUTING_KEY, step=0, loop=0
        )
    fake_pagerduty.stall_next(1.0)
    with pytest.raises(TransportError) as caught:
        PagerDutyTransport().send(row)
    assert (caught.value.maybe_sent, caught.value.permanent) == (True, False)
    assert PagerDutyTransport().send(row) == f"oncall-{incident.pk}"
    first, second = fake_pagerduty.take()
    assert first == second and first["dedup_key"] == f"oncall-{incident.pk}"
    assert not isinstance(PagerDutyTransport(), Reconcilable)


def test_connect_failures_are_not_maybe_sent(clock, cast, settings, short_timeout) -> None:
    incident = fire(cast.service)
    with transaction.atomic():
        row = pagerduty_forward_trigger(
            incident_id=incident.pk, address=ROUTING_KEY, step=0, loop=0
        )
    for unreachable in (refusing_url, unanswered_connect_url):
        with unreachable() as url:
            settings.PAGERDUTY_EVENTS_URL = url
            with pytest.raises(TransportError) as caught:
                PagerDutyTransport().send(row)
        assert (caught.value.maybe_sent, caught.value.permanent) == (False, False)
