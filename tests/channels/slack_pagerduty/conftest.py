"""Bridges fixtures: fake Slack and PagerDuty on loopback, settings pointing at them,
a frozen clock, and a small cast (Ada with a Slack DM rule, a service with a policy)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from oncall.people.models import ContactMethod, Engineer
from paging.models import Service
from tests.factories import ContactMethodFactory, EngineerFactory, NotificationRuleFactory
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.slack import FakeSlack
from tests.paging.factories import ServiceFactory, policy_with_steps
from tests.support import fire as support_fire

T0 = datetime(2026, 11, 20, 3, 14, 7, tzinfo=UTC)
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
PD_WEBHOOK_SECRET = "pd-webhook-secret-for-tests"
ADA_SLACK = "U024BE7LH"


@pytest.fixture
def clock_start() -> datetime:
    return T0


@pytest.fixture
def fake_slack(settings: pytest.FixtureRequest) -> Iterator[FakeSlack]:
    fake = FakeSlack()
    settings.SLACK_BOT_TOKEN = "xoxb-test-token"
    settings.SLACK_ENABLED = True
    settings.SLACK_BASE_URL = fake.base_url
    settings.SLACK_SIGNING_SECRET = SIGNING_SECRET
    yield fake
    left = [(c.method, c.params.get("channel")) for c in fake.calls]
    fake.close()
    assert not left, f"Slack calls nobody expected: {left}"


@pytest.fixture
def fake_pagerduty(settings: pytest.FixtureRequest) -> Iterator[FakePagerDuty]:
    fake = FakePagerDuty()
    settings.PAGERDUTY_EVENTS_URL = fake.url
    yield fake
    left = fake.take()
    fake.close()
    assert not left, f"PagerDuty events nobody expected: {left}"


@pytest.fixture
def slack_secret(settings: pytest.FixtureRequest) -> str:
    settings.SLACK_SIGNING_SECRET = SIGNING_SECRET
    return SIGNING_SECRET


@pytest.fixture
def pd_secret(settings: pytest.FixtureRequest) -> str:
    settings.PAGERDUTY_WEBHOOK_SECRET = PD_WEBHOOK_SECRET
    return PD_WEBHOOK_SECRET


@dataclass
class Cast:
    ada: Engineer
    ada_slack: ContactMethod
    grace: Engineer
    service: Service


@pytest.fixture
def cast(db: None) -> Cast:
    """Ada: a Slack DM at once (step 1). Grace: SMS (step 2). Payments service."""
    ada = EngineerFactory(display_name="Ada Lovelace")
    ada_slack = ContactMethodFactory(engineer=ada, kind="slack", value=ADA_SLACK)
    NotificationRuleFactory(engineer=ada, contact_method=ada_slack, delay_minutes=0)
    grace = EngineerFactory(display_name="Grace Hopper")
    sms = ContactMethodFactory(engineer=grace, kind="sms", value="+14155550002")
    NotificationRuleFactory(engineer=grace, contact_method=sms, delay_minutes=0)
    service = ServiceFactory(
        name="Payments", escalation_policy=policy_with_steps([ada], [grace], delay_minutes=10)
    )
    return Cast(ada, ada_slack, grace, service)


# The shared alert (tests/support.py) with this folder's sample key and title.
fire = functools.partial(support_fire, key="payments/api-down", title="Payment API down")
