"""Inhibition end to end with real Alertmanager v4 messages: a critical alert on an
instance holds new warnings of that instance; when it resolves, those still firing page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from paging.engine import tick
from paging.incident_actions import incident_resolve
from paging.models import Incident, InhibitedIncident, InhibitionSource, Integration
from paging.rule_writes import inhibit_rule_delete
from tests.factories import ContactMethodFactory, EngineerFactory, NotificationRuleFactory
from tests.paging.factories import IntegrationFactory, ServiceFactory, policy_with_steps
from tests.paging.rules_helpers import am, incident_of, inhibition_set, post

pytestmark = pytest.mark.django_db

PHONE = "+14155550001"


@pytest.fixture
def service():
    alice = EngineerFactory(display_name="Alice")
    sms = ContactMethodFactory(engineer=alice, kind="sms", value=PHONE)
    NotificationRuleFactory(engineer=alice, contact_method=sms, delay_minutes=0)
    return ServiceFactory(escalation_policy=policy_with_steps([alice]))


@pytest.fixture
def integration(service) -> Integration:
    return IntegrationFactory(service=service, grouping=Integration.Grouping.ALERT)


@pytest.fixture
def critical_mutes_warning():
    return inhibition_set(
        name="critical mutes warning",
        source_matchers=['severity="critical"'],
        target_matchers=['severity="warning"'],
        equal=["instance"],
    )


def node_down(instance: str, status: str = "firing", fp: str = "c000000000000001"):
    return am(fp, status, alertname="NodeDown", severity="critical", instance=instance)


def high_load(instance: str, status: str = "firing", fp: str = "w000000000000001"):
    return am(fp, status, alertname="HighLoad", severity="warning", instance=instance)


def paged(channel) -> set[int]:
    return {s.incident_id for s in channel.sent}


def test_warning_held_while_critical_fires_then_pages_when_it_resolves(
    integration, critical_mutes_warning, clock, channel
) -> None:
    post(integration, node_down("db-1"))
    post(integration, high_load("db-1"), high_load("db-2", fp="w000000000000002"))
    held, other = incident_of("w000000000000001"), incident_of("w000000000000002")
    assert held.suppressed_by.startswith("inhibited by 'NodeDown c000000000000001'")
    assert "inhibit rule 'critical mutes warning' on instance=db-1" in held.suppressed_by
    assert held.next_due_at is None
    assert other.suppressed_by == ""
    tick()
    assert paged(channel) == {incident_of("c000000000000001").pk, other.pk}

    clock.shift(timedelta(minutes=3))
    post(integration, node_down("db-1", "resolved"))
    held.refresh_from_db()
    assert held.suppressed_by == ""
    assert held.next_due_at is not None
    ended = held.events.get(kind="suppression_ended")
    assert (
        ended.text
        == "inhibition ended: 'NodeDown c000000000000001' resolved; still firing: paging starts"
    )
    tick()  # the very next tick
    assert held.pk in paged(channel)
    assert not InhibitionSource.objects.exists()
    assert not InhibitedIncident.objects.exists()


def test_source_and_target_in_one_message(integration, critical_mutes_warning, clock, channel):
    post(integration, node_down("db-1"), high_load("db-1"))
    assert incident_of("w000000000000001").suppressed_by.startswith("inhibited by")
    tick()
    assert paged(channel) == {incident_of("c000000000000001").pk}


def test_a_target_resolved_while_held_never_pages(
    integration, critical_mutes_warning, clock, channel
):
    post(integration, node_down("db-1"))
    post(integration, high_load("db-1"))
    post(integration, high_load("db-1", "resolved"))
    post(integration, node_down("db-1", "resolved"))
    tick()
    target = incident_of("w000000000000001")
    assert target.status == Incident.Status.RESOLVED
    assert target.pk not in paged(channel)
    assert not target.events.filter(kind="suppression_ended").exists()


def test_held_until_the_last_source_resolves(integration, critical_mutes_warning, clock, channel):
    post(integration, node_down("db-1"), node_down("db-1", fp="c000000000000002"))
    post(integration, high_load("db-1"))
    post(integration, node_down("db-1", "resolved"))
    assert incident_of("w000000000000001").suppressed_by != ""
    post(integration, node_down("db-1", "resolved", fp="c000000000000002"))
    assert incident_of("w000000000000001").suppressed_by == ""


def test_other_labels_and_other_instances_are_not_held(integration, critical_mutes_warning):
    post(integration, node_down("db-1"))
    post(
        integration,
        high_load("db-2"),
        am("i000000000000001", alertname="Info", severity="info", instance="db-1"),
    )
    assert incident_of("w000000000000001").suppressed_by == ""
    assert incident_of("i000000000000001").suppressed_by == ""


def test_source_resolved_by_hand_releases_its_targets(
    integration, critical_mutes_warning, clock, channel
):
    post(integration, node_down("db-1"))
    post(integration, high_load("db-1"))
    incident_resolve(incident_id=incident_of("c000000000000001").pk)
    assert incident_of("w000000000000001").suppressed_by == ""
    tick()
    assert incident_of("w000000000000001").pk in paged(channel)


def test_sources_in_another_integration_and_service(
    service, critical_mutes_warning, clock, channel
):
    network = IntegrationFactory(service=ServiceFactory(), grouping=Integration.Grouping.ALERT)
    app = IntegrationFactory(service=service, grouping=Integration.Grouping.ALERT)
    post(network, node_down("db-1"))
    post(app, high_load("db-1"))
    assert incident_of("w000000000000001").suppressed_by.startswith("inhibited by")
    post(network, node_down("db-1", "resolved"))
    assert incident_of("w000000000000001").suppressed_by == ""


def test_a_rule_made_while_the_source_fires_holds_new_targets(integration, clock, channel):
    post(integration, node_down("db-1"))
    inhibition_set(
        name="critical mutes warning",
        source_matchers=['severity="critical"'],
        target_matchers=['severity="warning"'],
        equal=["instance"],
    )
    post(integration, high_load("db-1"))
    assert incident_of("w000000000000001").suppressed_by.startswith("inhibited by")


def test_deleting_or_disabling_the_rule_pages_what_it_held(
    integration, critical_mutes_warning, clock, channel
):
    post(integration, node_down("db-1"))
    post(integration, high_load("db-1"))
    inhibit_rule_delete(rule=critical_mutes_warning)
    held = incident_of("w000000000000001")
    assert held.suppressed_by == ""
    assert held.events.get(kind="suppression_ended").text.startswith("inhibit rule changed")
    tick()
    assert held.pk in paged(channel)


def test_equal_on_a_label_both_lack_counts_as_equal(integration, clock):
    inhibition_set(
        name="any critical mutes warnings of its cluster",
        source_matchers=['severity="critical"'],
        target_matchers=['severity="warning"'],
        equal=["cluster"],
    )
    post(integration, node_down("db-1"))
    post(integration, high_load("db-2"))
    assert incident_of("w000000000000001").suppressed_by.startswith("inhibited by")


def test_an_unheld_alert_joining_a_held_incident_pages_it(
    service, critical_mutes_warning, clock, channel
):
    grouped = IntegrationFactory(service=service, grouping=Integration.Grouping.GROUP)
    post(grouped, node_down("db-1"), group_key="critical")
    post(grouped, high_load("db-1"), group_key="warnings")
    post(grouped, high_load("db-2", fp="w000000000000002"), group_key="warnings")
    warnings = Incident.objects.get(dedup_key="warnings")
    assert warnings.suppressed_by == ""
    tick()
    assert warnings.pk in paged(channel)


def test_inhibition_holds_across_a_maintenance_window(
    integration, critical_mutes_warning, clock, channel
):
    from django.utils import timezone

    from paging.models import MaintenanceWindow

    post(integration, node_down("db-1"))
    now = timezone.now()
    MaintenanceWindow.objects.create(
        service=integration.service, starts_at=now, ends_at=now + timedelta(minutes=30)
    )
    post(integration, high_load("db-1"))
    post(integration, node_down("db-1", "resolved"))
    held = incident_of("w000000000000001")
    tick()
    assert held.pk not in paged(channel)  # the window still holds it
    clock.shift(timedelta(minutes=31))
    tick()
    assert held.pk in paged(channel)
