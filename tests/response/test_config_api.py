"""Stakeholder subscriptions and status page groups over the API (staff): created,
changed and deleted through the same services as the admin and the config file (audited),
400s naming the field, engineers refused, and what the API sets is what the page and the
notices use."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from oncall.audit.models import AuditEntry
from paging.response.models import StakeholderSubscription, StatusPageGroup
from paging.response.services import status_update_post
from tests.paging.factories import ServiceFactory
from tests.response.conftest import STAKE_CHANNEL, Cast, fire

pytestmark = pytest.mark.django_db

SUBS = "/api/v1/stakeholder-subscriptions/"
GROUPS = "/api/v1/status-page-groups/"


def test_subscribe_a_person_and_a_channel_then_unsubscribe(api, cast: Cast, channel) -> None:
    other = ServiceFactory(name="search")
    person = api.post(SUBS, {"service": other.pk, "engineer": cast.alice.pk}, format="json")
    assert person.status_code == 201, person.content
    room = api.post(SUBS, {"service": other.pk, "slack_channel": "C0SEARCH1"}, format="json")
    assert room.status_code == 201, room.content
    listed = api.get(SUBS, {"service": other.pk}).json()["results"]
    assert [(r["engineer"], r["slack_channel"]) for r in listed] == [
        (cast.alice.pk, ""),
        (None, "C0SEARCH1"),
    ]
    by_api = AuditEntry.objects.filter(
        action="create", object_type="response.stakeholdersubscription", actor_user__isnull=False
    )
    assert sorted(e.object_repr for e in by_api) == ["search -> Alice", "search -> Slack C0SEARCH1"]

    # The subscription is what a status update on that service's incident reaches.
    incident = fire(other, key="search-down")
    posted = status_update_post(incident_id=incident.pk, state="investigating", text="Looking")
    assert (posted.notified.people, posted.notified.channels) == (["Alice"], ["C0SEARCH1"])

    assert api.delete(f"{SUBS}{room.json()['id']}/").status_code == 204
    assert list(
        StakeholderSubscription.objects.filter(service=other).values_list(
            "slack_channel", flat=True
        )
    ) == [""]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"engineer": 1}, "service"),
        ({"service": "{service}"}, "engineer"),
        ({"service": "{service}", "engineer": "{engineer}", "slack_channel": "C0X1"}, "engineer"),
        ({"service": "{service}", "slack_channel": "general"}, "slack_channel"),
        ({"service": 10**20, "slack_channel": "C0X1"}, "service"),
    ],
)
def test_bad_subscriptions_are_400_naming_the_field(api, cast: Cast, body, field) -> None:
    values = {"{service}": cast.service.pk, "{engineer}": cast.alice.pk}
    body = {k: values.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    before = StakeholderSubscription.objects.count()
    answer = api.post(SUBS, body, format="json")
    assert answer.status_code == 400, answer.content
    assert field in answer.json(), answer.json()
    assert StakeholderSubscription.objects.count() == before


def test_a_second_identical_subscription_adds_nothing(api, cast: Cast) -> None:
    before = StakeholderSubscription.objects.count()
    again = api.post(
        SUBS, {"service": cast.service.pk, "slack_channel": STAKE_CHANNEL}, format="json"
    )
    assert again.status_code == 201
    assert StakeholderSubscription.objects.count() == before


def test_status_page_groups_create_change_delete(api, cast: Cast, client) -> None:
    made = api.post(
        GROUPS,
        {"name": "Checkout", "description": "Paying", "position": 2, "services": [cast.service.pk]},
        format="json",
    )
    assert made.status_code == 201, made.content
    group = StatusPageGroup.objects.get(pk=made.json()["id"])
    assert [s.pk for s in group.services.all()] == [cast.service.pk]
    assert "Checkout" in client.get("/status/").content.decode()

    renamed = api.patch(f"{GROUPS}{group.pk}/", {"name": "Payments"}, format="json")
    assert renamed.status_code == 200, renamed.content
    group.refresh_from_db()
    assert (group.name, group.description, group.position) == ("Payments", "Paying", 2)
    assert [s.pk for s in group.services.all()] == [cast.service.pk]  # left as it was
    assert AuditEntry.objects.filter(action="update", object_type__contains="status").exists()

    clash = api.post(GROUPS, {"name": "Payments"}, format="json")
    assert clash.status_code == 400 and "name" in clash.json()
    negative = api.patch(f"{GROUPS}{group.pk}/", {"position": -1}, format="json")
    assert negative.status_code == 400 and "position" in negative.json()

    assert api.delete(f"{GROUPS}{group.pk}/").status_code == 204
    assert not StatusPageGroup.objects.exists()


def test_engineers_cannot_change_who_is_told(cast: Cast) -> None:
    engineer = APIClient()
    engineer.force_authenticate(cast.sam.user)
    assert engineer.get(SUBS).status_code == 403
    assert engineer.post(GROUPS, {"name": "X"}, format="json").status_code == 403
    assert APIClient().get(GROUPS).status_code == 401
