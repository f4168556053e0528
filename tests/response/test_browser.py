"""In headless Chromium: a lead marks an incident public from its admin page (asked once),
posts an update, and a visitor (not signed in) sees it on /status/; outcomes checked in
the database; layout and screenshots at 1280x800 and 390x844."""

from __future__ import annotations

import pytest

from paging.response.models import IncidentPublication, StatusUpdate
from paging.response.services import (
    action_item_create,
    incident_publish,
    incident_role_assign,
    status_group_save,
    status_update_post,
)
from tests.browser import DESKTOP, SIZES, browser_marks, check_layout, logged_in_page
from tests.factories import EngineerFactory, UserFactory
from tests.paging.factories import ServiceFactory, policy_with_steps
from tests.response.conftest import SECRET_LABEL, SECRET_TITLE, fire
from tests.support import engineer_with_ladder

pytestmark = [*browser_marks, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def scene():
    lena = EngineerFactory(
        display_name="Lena",
        time_zone="Europe/Berlin",
        user=UserFactory(username="lena", is_staff=True, is_superuser=True),
    )
    alice = engineer_with_ladder("Alice", "+14155550001")
    payments = ServiceFactory(name="payments", escalation_policy=policy_with_steps([alice]))
    search = ServiceFactory(name="search", escalation_policy=policy_with_steps([alice]))
    status_group_save(
        group=None,
        name="Checkout",
        description="Cart, payment and order confirmation",
        position=1,
        services=[payments],
    )
    status_group_save(group=None, name="Search", position=2, services=[search])
    status_group_save(group=None, name="Public API", position=3)
    return lena, alice, fire(payments), search


def test_mark_public_from_the_admin_then_the_status_page_shows_it(live_server, scene) -> None:
    lena, _, incident, _ = scene
    with logged_in_page(live_server, lena.user, DESKTOP) as page:
        page.goto(f"{live_server.url}/admin/paging/incident/{incident.pk}/change/")
        page.get_by_label("Public title").fill("Card payments are failing")
        page.get_by_role("button", name="Mark public").click()
        page.wait_for_load_state()
        assert "Anyone can read the status page" in page.content()
        assert not IncidentPublication.objects.exists()  # nothing before the confirm
        page.get_by_role("button", name="Yes, mark public").click()
        page.wait_for_load_state()
        assert (
            "Marked public as 'Card payments are failing' by Lena"
            in page.locator("ul.messagelist").inner_text()
        )
        page.get_by_label("State").select_option("identified")
        page.locator("#id_update_text").fill("A database ran out of memory; failing over")
        page.get_by_role("button", name="Post update").click()
        page.wait_for_load_state()
        assert "Status update posted" in page.locator("ul.messagelist").inner_text()
        row = page.locator("#timeline tbody tr", has_text="Marked public").inner_text()
        assert "Lena" in row
        assert page.problems == []

    assert IncidentPublication.objects.get().public_title == "Card payments are failing"
    assert StatusUpdate.objects.get().public is True
    with logged_in_page(live_server, None, DESKTOP) as page:  # a visitor
        page.goto(f"{live_server.url}/status/")
        assert page.locator("#overall-status").inner_text() == "Partial outage"
        checkout = page.locator("article.group", has_text="Checkout")
        assert checkout.locator(".badge").inner_text() == "Partial outage"
        ongoing = page.locator("section", has_text="Ongoing incidents")
        assert "Card payments are failing" in ongoing.inner_text()
        assert "A database ran out of memory; failing over" in ongoing.inner_text()
        text = page.content()
        assert SECRET_TITLE not in text and SECRET_LABEL not in text and "Lena" not in text
        assert page.problems == []


@pytest.mark.parametrize("size", list(SIZES))
def test_status_page_and_incident_panel_layout(live_server, scene, size) -> None:
    lena, alice, incident, search = scene
    incident_role_assign(incident_id=incident.pk, role="commander", engineer_id=alice.pk)
    incident_publish(incident_id=incident.pk, public_title="Card payments are failing")
    status_update_post(
        incident_id=incident.pk, state="investigating", text="We are looking into failed payments."
    )
    status_update_post(
        incident_id=incident.pk,
        state="identified",
        text="A database ran out of memory; we are failing over to a replica.",
    )
    action_item_create(incident_id=incident.pk, title="Alert on memory at 80%", owner_id=alice.pk)
    slow = fire(search, key="slow", title="search p99 high")
    incident_publish(incident_id=slow.pk, public_title="Search is slow")
    with logged_in_page(live_server, None, SIZES[size]) as page:
        page.goto(f"{live_server.url}/status/")
        check_layout(page, "status-page")
        assert page.problems == []
    with logged_in_page(live_server, lena.user, SIZES[size]) as page:
        page.goto(f"{live_server.url}/admin/paging/incident/{incident.pk}/change/")
        check_layout(page, "incident-response-panel")
        assert page.problems == []
