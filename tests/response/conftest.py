"""Incident response fixtures: the paging tests' recording channel and clock, and a cast:
Lena (a team lead, admin user, Berlin), Alice (on call for payments), Priya (a
stakeholder: e-mail for low urgency, SMS for high), Sam (a stakeholder with no contact
method), the payments service with Priya, Sam and the Slack channel C0STAKEHOLD
subscribed, and a triggered incident whose alert carries secrets."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from oncall.people.models import Engineer
from paging.alert_event import AlertEvent
from paging.ingest import alerts_ingest
from paging.models import Incident, Service
from paging.response.services import stakeholder_subscription_create
from tests.factories import (
    ContactMethodFactory,
    EngineerFactory,
    NotificationRuleFactory,
    UserFactory,
)
from tests.paging.factories import IntegrationFactory, ServiceFactory, policy_with_steps
from tests.support import engineer_with_ladder

PRIYA_EMAIL = "priya@stakeholders.example"
PRIYA_PHONE = "+14155550199"
STAKE_CHANNEL = "C0STAKEHOLD"
# Internal data that must never reach the status page.
SECRET_TITLE = "INTERNAL-TITLE db-primary-7f3a OOM"
SECRET_LABEL = "SECRET-LABEL-kube-node-42"
SECRET_NOTE = "SECRET-NOTE customer ACME-CORP refunds"


@dataclass
class Cast:
    lena: Engineer
    alice: Engineer
    priya: Engineer
    sam: Engineer
    service: Service
    incident: Incident


def fire(service: Service, *, key: str = "db-oom", title: str = SECRET_TITLE) -> Incident:
    integration = IntegrationFactory(service=service, kind="webhook")
    result = alerts_ingest(
        integration=integration,
        events=[
            AlertEvent(
                action="trigger",
                alert_key=key,
                group_key=key,
                title=title,
                severity="critical",
                details={"labels": {"instance": SECRET_LABEL}},
            )
        ],
    )
    return Incident.objects.get(pk=result.incident_ids[0])


@pytest.fixture
def cast(db: None, clock) -> Cast:  # noqa: F811
    lena = EngineerFactory(
        display_name="Lena",
        time_zone="Europe/Berlin",
        user=UserFactory(username="lena", is_staff=True, is_superuser=True),
    )
    alice = engineer_with_ladder("Alice", "+14155550001")
    priya = EngineerFactory(display_name="Priya", user=UserFactory(username="priya"))
    email = ContactMethodFactory(engineer=priya, kind="email", value=PRIYA_EMAIL)
    sms = ContactMethodFactory(engineer=priya, kind="sms", value=PRIYA_PHONE)
    NotificationRuleFactory(engineer=priya, contact_method=sms, delay_minutes=0, urgency="high")
    NotificationRuleFactory(engineer=priya, contact_method=email, delay_minutes=0, urgency="low")
    sam = EngineerFactory(display_name="Sam", user=UserFactory(username="sam"))
    service = ServiceFactory(name="payments", escalation_policy=policy_with_steps([alice]))
    stakeholder_subscription_create(service=service, engineer=priya)
    stakeholder_subscription_create(service=service, engineer=sam)
    stakeholder_subscription_create(service=service, slack_channel=STAKE_CHANNEL)
    return Cast(lena, alice, priya, sam, service, fire(service))


@pytest.fixture
def api(cast: Cast) -> APIClient:
    client = APIClient()
    client.force_authenticate(cast.lena.user)
    return client
