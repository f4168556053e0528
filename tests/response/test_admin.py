"""The incident page's response panel: roles, status updates, mark public (asked once),
action items; outcomes in the database and the outbox; the config pages."""

from __future__ import annotations

import pytest
from django.test import Client

from oncall.audit.models import AuditEntry
from paging.engine import tick
from paging.models import IncidentEvent
from paging.response.models import (
    ActionItem,
    IncidentPublication,
    IncidentRole,
    StakeholderSubscription,
    StatusPageGroup,
    StatusUpdate,
)
from tests.factories import UserFactory
from tests.response.conftest import PRIYA_EMAIL, STAKE_CHANNEL, Cast

pytestmark = pytest.mark.django_db


@pytest.fixture
def lena(cast: Cast) -> Client:
    client = Client()
    client.force_login(cast.lena.user)
    return client


def _page(client: Client, cast: Cast) -> str:
    answer = client.get(f"/admin/paging/incident/{cast.incident.pk}/change/")
    assert answer.status_code == 200
    return answer.content.decode()


def _post(client: Client, route: str, **data: object):
    return client.post(f"/admin/response/actionitem/{route}", data)


def test_panel_shows_the_forms(lena: Client, cast: Cast) -> None:
    page = _page(lena, cast)
    assert 'id="response-title"' in page
    for button in ("Assign role", "Mark public", "Post update", "Add action item"):
        assert f">{button}</button>" in page
    assert "Not public: the status page does not show it." in page


def test_assign_commander_from_the_page(lena: Client, cast: Cast) -> None:
    answer = _post(
        lena, f"incident/{cast.incident.pk}/role/", role="commander", engineer=cast.alice.pk
    )
    assert answer.status_code == 302
    role = IncidentRole.objects.get(incident=cast.incident, role="commander")
    assert (role.engineer_id, role.assigned_by_id, role.via) == (
        cast.alice.pk,
        cast.lena.pk,
        "admin",
    )
    page = _page(lena, cast)
    assert "Incident commander set to Alice by Lena" in page
    assert '<dd id="role-commander">Alice</dd>' in page
    line = IncidentEvent.objects.get(incident=cast.incident, kind=IncidentEvent.Kind.ROLE)
    assert line.text == "Incident commander: Alice"
    assert AuditEntry.objects.filter(action="role").count() == 1


def test_post_a_status_update_from_the_page(lena: Client, cast: Cast, channel) -> None:
    tick()
    channel.sent.clear()
    _post(
        lena,
        f"incident/{cast.incident.pk}/update/",
        state="monitoring",
        text="Fix deployed, watching error rates",
    )
    update = StatusUpdate.objects.get()
    assert (update.state, update.actor_id, update.public) == ("monitoring", cast.lena.pk, False)
    tick()
    assert sorted(s.destination for s in channel.sent) == sorted([PRIYA_EMAIL, STAKE_CHANNEL])
    page = _page(lena, cast)
    assert "Status update posted (told Priya, Slack C0STAKEHOLD; not reachable: Sam)" in page
    assert "Fix deployed, watching error rates" in page


def test_bad_update_says_why_and_changes_nothing(lena: Client, cast: Cast) -> None:
    _post(lena, f"incident/{cast.incident.pk}/update/", state="fixed", text="x")
    assert not StatusUpdate.objects.exists()
    assert "State: Select a valid choice." in _page(lena, cast)


def test_mark_public_asks_once(lena: Client, cast: Cast) -> None:
    route = f"incident/{cast.incident.pk}/public/"
    asked = _post(lena, route, public_title="Payments are failing")
    assert asked.status_code == 200
    assert "Yes, mark public" in asked.content.decode()
    assert not IncidentPublication.objects.exists()
    done = _post(lena, route, public_title="Payments are failing", confirmed="1")
    assert done.status_code == 302
    publication = IncidentPublication.objects.get()
    assert (publication.public_title, publication.published_by_id) == (
        "Payments are failing",
        cast.lena.pk,
    )
    assert "Public as “Payments are failing”" in _page(lena, cast)


def test_action_items_from_the_page(lena: Client, cast: Cast) -> None:
    _post(
        lena,
        f"incident/{cast.incident.pk}/item/",
        title="Alert on disk at 80%",
        owner=cast.alice.pk,
        due_date="2026-03-01",
    )
    item = ActionItem.objects.get()
    assert (item.owner_id, str(item.due_date), item.created_by_id) == (
        cast.alice.pk,
        "2026-03-01",
        cast.lena.pk,
    )
    assert "overdue" in _page(lena, cast)  # due yesterday (the clock is 2 March)
    _post(lena, f"item/{item.pk}/done/", done="1")
    item.refresh_from_db()
    assert item.done
    # The admin's list of action items filters overdue ones.
    listing = lena.get("/admin/response/actionitem/?state=done").content.decode()
    assert "Alert on disk at 80%" in listing


def test_acting_needs_the_change_permission(cast: Cast) -> None:
    viewer = Client()
    viewer.force_login(UserFactory(is_staff=True))
    answer = _post(
        viewer, f"incident/{cast.incident.pk}/role/", role="commander", engineer=cast.alice.pk
    )
    assert answer.status_code == 403
    assert not IncidentRole.objects.exists()


def test_subscription_and_group_pages_write_through_the_services(lena: Client, cast: Cast) -> None:
    answer = lena.post(
        "/admin/response/stakeholdersubscription/add/",
        {"service": cast.service.pk, "slack_channel": "C0NEWCHAN1"},
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    assert StakeholderSubscription.objects.filter(slack_channel="C0NEWCHAN1").exists()
    bad = lena.post(
        "/admin/response/stakeholdersubscription/add/",
        {"service": cast.service.pk, "slack_channel": "C0NEWCHAN1", "engineer": cast.alice.pk},
    )
    assert bad.status_code == 200 and "one of them" in bad.content.decode()

    answer = lena.post(
        "/admin/response/statuspagegroup/add/",
        {
            "name": "Checkout",
            "description": "Cart and payment",
            "position": 1,
            "services": [cast.service.pk],
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    group = StatusPageGroup.objects.get()
    assert [s.name for s in group.services.all()] == ["payments"]
    assert AuditEntry.objects.filter(object_type="response.statuspagegroup").exists()


def test_group_change_and_subscription_delete_are_audited(lena: Client, cast: Cast) -> None:
    from paging.response.services import status_group_save
    from tests.paging.factories import ServiceFactory

    other = ServiceFactory(name="api")
    group = status_group_save(group=None, name="Checkout", services=[cast.service])
    answer = lena.post(
        f"/admin/response/statuspagegroup/{group.pk}/change/",
        {"name": "Checkout", "description": "", "position": 2, "services": [other.pk]},
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    group.refresh_from_db()
    assert group.position == 2
    assert [s.name for s in group.services.all()] == ["api"]
    entry = AuditEntry.objects.filter(object_type="response.statuspagegroup").order_by("seq").last()
    assert entry.changes == {"services": [["payments"], ["api"]]}

    sub = StakeholderSubscription.objects.get(slack_channel=STAKE_CHANNEL)
    answer = lena.post(f"/admin/response/stakeholdersubscription/{sub.pk}/delete/", {"post": "yes"})
    assert answer.status_code == 302
    assert not StakeholderSubscription.objects.filter(pk=sub.pk).exists()
    assert AuditEntry.objects.filter(
        object_type="response.stakeholdersubscription", action="delete"
    ).exists()
