"""The incident page in headless Chromium: acknowledge, add a note, reassign, a stale
resolve, escalate now and resolve, clicked through as a team lead whose user is an
engineer; the outcome checked in the database; layout and screenshots at 1280x800 and
390x844."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from paging.engine import tick
from paging.incident_actions import incident_acknowledge, incident_resolve
from paging.models import Alert, ChangeEvent, Incident, Message
from tests.browser import DESKTOP, SIZES, browser_marks, check_layout, logged_in_page
from tests.factories import EngineerFactory, UserFactory
from tests.paging.factories import ServiceFactory, policy_with_steps
from tests.support import engineer_with_ladder, fire

pytestmark = [*browser_marks, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def lena():
    return EngineerFactory(
        display_name="Lena",
        time_zone="Europe/Berlin",
        user=UserFactory(username="lena", is_staff=True, is_superuser=True),
    )


@pytest.fixture
def incident() -> Incident:
    alice = engineer_with_ladder("Alice", "+14155550001")
    engineer_with_ladder("Bob", "+14155550002")
    service = ServiceFactory(name="checkout-api", escalation_policy=policy_with_steps([alice]))
    incident = fire(service, key="node-not-ready")
    Alert.objects.filter(incident=incident).update(
        title="KubeNodeNotReady: worker-3 has been NotReady for 5 minutes",
        details={
            "labels": {
                "alertname": "KubeNodeNotReady",
                "node": "worker-3",
                "severity": "critical",
                "team": "platform",
            },
            "annotations": {
                "summary": "Node worker-3 has been NotReady for 5 minutes",
                "runbook_url": "https://runbooks.example.com/kube-node-not-ready",
            },
            "fingerprint": "5a1e7c2d9b3f4e60",
        },
        links=[{"href": "http://prometheus.example.com:9090/graph", "text": "Prometheus"}],
    )
    return incident


def test_ack_note_reassign_and_stale_resolve_from_the_incident_page(live_server, lena, incident):
    url = f"{live_server.url}/admin/paging/incident/{incident.pk}/change/"
    with logged_in_page(live_server, lena.user, DESKTOP) as page:
        page.goto(url)
        assert page.locator("#incident-status").inner_text() == "Triggered"
        check_layout(page, "incident-triggered")

        page.get_by_role("button", name="Acknowledge", exact=True).click()
        page.wait_for_load_state()
        assert "Pending pages are cancelled" in page.content()
        check_layout(page, "incident-confirm")
        page.get_by_role("button", name="Yes, acknowledge").click()
        page.wait_for_load_state()
        success = page.locator("ul.messagelist .success").inner_text()
        assert re.fullmatch(r"Acknowledged by Lena at .+ \d\d:\d\d:\d\d CES?T\.", success), success
        assert page.locator("#incident-status").inner_text() == "Acknowledged"
        row = page.locator("#timeline tbody tr", has_text="Acknowledged").first.inner_text()
        assert "Lena" in row and "admin" in row
        check_layout(page, "incident-acknowledged")

        incident.refresh_from_db()
        assert incident.status == Incident.Status.ACKNOWLEDGED
        assert (incident.acknowledged_by_id, incident.acknowledged_via) == (lena.pk, "admin")
        ack = incident.events.get(kind="acknowledged")
        assert (ack.actor_id, ack.via) == (lena.pk, "admin")

        page.get_by_label("Add a note to the timeline").fill("Rebooted worker-3")
        page.get_by_role("button", name="Add note").click()
        page.wait_for_load_state()
        assert "Note added by Lena" in page.locator("ul.messagelist").inner_text()
        note = incident.events.get(kind="note")
        assert (note.text, note.actor_id) == ("Rebooted worker-3", lena.pk)

        page.get_by_label("Reassign to engineers").select_option(label="Bob")
        page.get_by_role("button", name="Reassign", exact=True).click()
        page.wait_for_load_state()
        assert "Reassign incident" in page.locator("h1").inner_text()
        page.get_by_role("button", name="Yes, reassign").click()
        page.wait_for_load_state()
        assert "Reassigned to Bob by Lena" in page.locator("ul.messagelist").inner_text()
        incident.refresh_from_db()
        assert [e.display_name for e in incident.assigned_to.all()] == ["Bob"]

        # Someone resolves it elsewhere; this page still offers Resolve.
        incident_resolve(incident_id=incident.pk, via="slack")
        with page.expect_response(re.compile(r"/act/resolve/$")) as answer:
            page.get_by_role("button", name="Resolve", exact=True).click()
        assert answer.value.status == 409
        assert "is already resolved" in page.locator(".stale-message").inner_text()
        check_layout(page, "incident-stale")
        assert page.problems == [
            f"409: {live_server.url}/admin/paging/incident/{incident.pk}/act/resolve/"
        ]
    incident.refresh_from_db()
    assert incident.events.filter(kind="resolved").count() == 1


@pytest.mark.parametrize("size", list(SIZES))
def test_incident_page_and_list_layout(live_server, lena, incident, size):
    # A list with a long title, an acknowledged and a resolved incident of another service.
    other = ServiceFactory(name="payments-worker-eu-west-1")
    long_one = fire(other, key="long")
    Incident.objects.filter(pk=long_one.pk).update(
        title="PaymentsQueueBacklog: more than 10,000 messages waiting in payments-settlement "
        "for 15 minutes on eu-west-1 (consumer lag rising)"
    )
    incident_acknowledge(incident_id=long_one.pk, engineer_id=lena.pk, via="admin")
    incident_resolve(incident_id=fire(other, key="done").pk, via="alertmanager")
    # A deploy ten minutes before the incident opened (a PagerDuty Change Event).
    ChangeEvent.objects.create(
        service=incident.service,
        summary="Deploy checkout-api v2026.11.30-4 (canary 10%, feature flag new-tax-engine on)",
        source="ci-pipeline-checkout",
        occurred_at=incident.created_at - timedelta(minutes=10),
        received_at=incident.created_at - timedelta(minutes=10),
        links=[{"href": "https://ci.example.com/checkout-api/builds/1842", "text": "Build 1842"}],
    )
    with logged_in_page(live_server, lena.user, SIZES[size]) as page:
        page.goto(f"{live_server.url}/admin/paging/incident/{incident.pk}/change/")
        changes = page.locator("#recent-changes").inner_text()
        assert "Deploy checkout-api v2026.11.30-4" in changes and "Build 1842" in changes
        # The respond panel has room (it once rendered at zero width at the right edge).
        box = page.locator(".incident-respond").bounding_box()
        assert box["width"] > min(SIZES[size]["width"] * 0.6, 600)
        assert page.get_by_role("link", name="https://runbooks.example.com/kube-node-not-ready")
        check_layout(page, "incident-page")
        page.goto(f"{live_server.url}/admin/paging/incident/")
        check_layout(page, "incident-list")
        if SIZES[size] == DESKTOP:  # every column readable at 1280 px, none behind a scroll
            hidden = page.eval_on_selector(
                "#changelist .results", "e => e.scrollWidth - e.clientWidth"
            )
            assert hidden <= 0, hidden
        assert page.problems == []


def test_escalate_now_then_resolve_from_the_incident_page(live_server, lena):
    """Escalate now pages the next step's engineer (once the engine runs), Resolve ends
    the incident; both asked once and attributed to the acting admin's engineer."""
    alice = engineer_with_ladder("Alice", "+14155550001")
    bob = engineer_with_ladder("Bob", "+14155550002")
    service = ServiceFactory(
        name="checkout-api", escalation_policy=policy_with_steps([alice], [bob])
    )
    incident = fire(service, key="disk-full")
    tick()  # step 1 pages Alice
    assert set(Message.objects.values_list("engineer__display_name", flat=True)) == {"Alice"}
    url = f"{live_server.url}/admin/paging/incident/{incident.pk}/change/"
    with logged_in_page(live_server, lena.user, DESKTOP) as page:
        page.goto(url)
        page.get_by_role("button", name="Escalate now", exact=True).click()
        page.wait_for_load_state()
        check_layout(page, "incident-escalate-confirm")
        page.get_by_role("button", name="Yes, escalate now").click()
        page.wait_for_load_state()
        assert "by Lena" in page.locator("ul.messagelist .success").inner_text()
        row = page.locator("#timeline tbody tr", has_text="escalated to step 2").first.inner_text()
        assert "Lena" in row
        escalated = incident.events.get(kind="escalated")
        assert (escalated.actor_id, escalated.via) == (lena.pk, "admin")
        tick()  # the engine runs step 2 now, not 15 minutes later
        bob_pages = Message.objects.filter(engineer=bob, incident=incident)
        assert [m.kind for m in bob_pages.order_by("due_at")] == ["sms", "voice"]
        assert bob_pages.filter(kind="voice", status=Message.Status.PENDING).exists()

        page.get_by_role("button", name="Resolve", exact=True).click()
        page.wait_for_load_state()
        page.get_by_role("button", name="Yes, resolve").click()
        page.wait_for_load_state()
        assert "by Lena" in page.locator("ul.messagelist .success").inner_text()
        assert page.locator("#incident-status").inner_text() == "Resolved"
        check_layout(page, "incident-resolved")
        assert page.problems == []
    incident.refresh_from_db()
    assert (incident.status, incident.resolved_by_id) == (Incident.Status.RESOLVED, lena.pk)
    # Resolving cancels Bob's call still waiting (due 5 minutes after his SMS).
    assert not bob_pages.filter(kind="voice", status=Message.Status.PENDING).exists()
