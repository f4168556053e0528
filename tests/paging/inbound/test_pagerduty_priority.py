"""PagerDuty Events API v2: ``payload.custom_details.priority`` grades the incident (and
picks the service's policy for it); ``payload.severity`` alone does not."""

from __future__ import annotations

import json

import pytest

from paging.models import Incident, PriorityLevel, ServicePriorityPolicy
from tests.paging.factories import EscalationPolicyFactory
from tests.paging.inbound.conftest import stored_counts
from tests.paging.inbound.samples import pagerduty_trigger_sample

pytestmark = pytest.mark.django_db


def post(client, body: dict):
    return client.post("/v2/enqueue", json.dumps(body), content_type="application/json")


def trigger(priority: object = None, *, key: str = "payments/api-down") -> dict:
    """The contract sample, with ``custom_details.priority`` when given."""
    body = pagerduty_trigger_sample()
    body["dedup_key"] = key
    if priority is not None:
        body["payload"]["custom_details"]["priority"] = priority
    return body


def test_the_contract_sample_without_a_priority_opens_an_ungraded_incident(client, pd_integration):
    assert post(client, trigger()).status_code == 202
    incident = Incident.objects.get()
    # severity "critical" sets the urgency, never a priority
    assert (incident.severity, incident.urgency, incident.priority) == ("critical", "high", None)


@pytest.mark.parametrize(
    ("sent", "expected"), [("P1", 1), ("p2", 2), (3, 3), ("4", 4), ("SEV2", 2), ("", None)]
)
def test_custom_details_priority_grades_the_incident(client, pd_integration, sent, expected):
    PriorityLevel.objects.bulk_create([PriorityLevel(level=n, name=f"SEV{n}") for n in range(1, 6)])
    response = post(client, trigger(sent))
    assert response.status_code == 202, response.json()
    incident = Incident.objects.get()
    assert incident.priority == expected
    # The custom details are kept as sent.
    assert incident.details["custom_details"]["priority"] == sent


def test_the_priority_picks_the_service_policy_for_it(client, pd_integration):
    service = pd_integration.service
    service.escalation_policy = EscalationPolicyFactory(name="standard")
    service.save()
    fast = EscalationPolicyFactory(name="five minutes")
    ServicePriorityPolicy.objects.create(service=service, priority=1, escalation_policy=fast)
    assert post(client, trigger("P1", key="a")).status_code == 202
    assert post(client, trigger("P2", key="b")).status_code == 202
    policies = dict(Incident.objects.values_list("dedup_key", "escalation_policy__name"))
    assert policies == {"a": "five minutes", "b": "standard"}


@pytest.mark.parametrize(
    ("sent", "error"),
    [
        (
            "P5",
            "'payload.custom_details.priority': P5 is not a priority in use here "
            "(use P1 (SEV1), P2 (SEV2), P3 (SEV3), P4 (SEV4))",
        ),
        (
            "critical",
            "'payload.custom_details.priority': 'critical' is not a priority "
            "(use P1 (SEV1), P2 (SEV2), P3 (SEV3), P4 (SEV4))",
        ),
        (
            {"level": 1},
            "'payload.custom_details.priority' must be a string or a number, not object",
        ),
        (True, "'payload.custom_details.priority' must be a string or a number, not boolean"),
    ],
)
def test_a_bad_priority_is_a_400_naming_the_field(client, pd_integration, sent, error):
    PriorityLevel.objects.bulk_create([PriorityLevel(level=n, name=f"SEV{n}") for n in range(1, 5)])
    before = stored_counts()
    response = post(client, trigger(sent))
    assert response.status_code == 400
    assert response.json() == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": [error],
    }
    assert stored_counts() == before


def test_acknowledge_and_resolve_ignore_the_payload(client, pd_integration):
    assert post(client, trigger("P1")).status_code == 202
    ack = {
        "routing_key": pd_integration.token,
        "event_action": "acknowledge",
        "dedup_key": "payments/api-down",
        "payload": {"custom_details": {"priority": "nonsense"}},
    }
    assert post(client, ack).status_code == 202
    assert Incident.objects.get().priority == 1


def test_an_event_without_a_priority_costs_no_priority_query(
    client, pd_integration, django_assert_num_queries
):
    post(client, trigger(key="warm-up"))  # the integration is cached from here on
    # The ingest's 6 (the slot's statement confirmed the token), plus the rate-limit slot
    # (inside the test's transaction: SAVEPOINT, INSERT … ON CONFLICT, RELEASE; the
    # caller's transaction keeps its own durability).
    slot = 3
    with django_assert_num_queries(6 + slot):
        assert post(client, trigger(key="next")).status_code == 202
    # A priority costs one read of the levels and one of the service's priority policies.
    with django_assert_num_queries(8 + slot):
        assert post(client, trigger("P1", key="graded")).status_code == 202
