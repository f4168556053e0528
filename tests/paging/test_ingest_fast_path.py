"""The hand-built SQL of the ingest hot path: query budget, edge cases it must get right.

``paging/ingest.py`` opens incidents with INSERT … ON CONFLICT DO NOTHING (maintenance
decided inside that INSERT), remembers incidents opened in the same delivery and writes
timeline lines in one INSERT; these tests pin the outcomes that design could get wrong.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from paging import ingest_sql
from paging.alert_event import AlertEvent
from paging.ingest import alerts_ingest
from paging.models import Alert, Incident, IncidentEvent, Integration
from tests.paging.factories import IntegrationFactory, MaintenanceWindowFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def trig(alert_key: str, group_key: str = "g1", severity: str = "critical") -> AlertEvent:
    return AlertEvent(
        action="trigger",
        alert_key=alert_key,
        group_key=group_key,
        title=f"{alert_key} is down",
        severity=severity,  # type: ignore[arg-type]
        source="prom",
        details={"labels": {"alertname": alert_key}},
    )


def res(alert_key: str, group_key: str = "g1") -> AlertEvent:
    return AlertEvent(action="resolve", alert_key=alert_key, group_key=group_key)


def kinds(incident: Incident) -> list[str]:
    return list(incident.events.order_by("at", "id").values_list("kind", flat=True))


def test_new_alert_costs_at_most_seven_queries_and_a_repeat_five(
    django_assert_max_num_queries,
) -> None:
    integration = IntegrationFactory()
    alerts_ingest(integration=integration, events=[trig("warm", "warm")])  # caches, SQL
    # BEGIN, confirm the integration's token, look up the alert, INSERT incident,
    # INSERT alert, INSERT timeline, COMMIT.
    with django_assert_max_num_queries(7):
        alerts_ingest(integration=integration, events=[trig("a1")])
    # BEGIN, confirm the token, look up the alert, UPDATE its counters, COMMIT.
    with django_assert_max_num_queries(5):
        alerts_ingest(integration=integration, events=[trig("a1")])
    alert = Alert.objects.get(alert_key="a1")
    assert alert.deliveries == 2
    assert alert.details == {"labels": {"alertname": "a1"}}


def test_repeat_without_details_keeps_the_stored_details() -> None:
    integration = IntegrationFactory()
    alerts_ingest(integration=integration, events=[trig("a1")])
    bare = AlertEvent(action="trigger", alert_key="a1", group_key="g1", title="a1 is down")
    assert alerts_ingest(integration=integration, events=[bare]).outcomes == ["updated"]
    alert = Alert.objects.get()
    assert alert.details == {"labels": {"alertname": "a1"}}
    assert alert.deliveries == 2


def test_alerts_of_one_delivery_join_the_incident_it_opened_and_raise_its_severity() -> None:
    integration = IntegrationFactory()
    result = alerts_ingest(
        integration=integration,
        events=[trig("a", severity="warning"), trig("b", severity="critical"), trig("c")],
    )
    assert result.outcomes == ["created", "joined", "joined"]
    incident = Incident.objects.get()
    assert (incident.severity, incident.urgency) == ("critical", "high")
    assert incident.alerts.count() == 3
    assert kinds(incident) == ["triggered", "alert_received", "alert_received", "alert_received"]


def test_an_incident_resolved_within_the_delivery_is_not_joined_afterwards() -> None:
    integration = IntegrationFactory()
    result = alerts_ingest(integration=integration, events=[trig("a"), res("a"), trig("b")])
    assert result.outcomes == ["created", "resolved", "created"]
    first, second = Incident.objects.order_by("id")
    assert first.status == "resolved"
    assert second.status == "triggered"
    assert list(second.alerts.values_list("alert_key", flat=True)) == ["b"]
    assert kinds(first) == ["triggered", "alert_received", "alert_resolved", "resolved"]


def test_ack_in_the_same_delivery_comes_after_the_trigger_lines() -> None:
    integration = IntegrationFactory(kind="pagerduty", grouping="alert")
    ack = AlertEvent(action="acknowledge", alert_key="k", group_key="k")
    result = alerts_ingest(integration=integration, events=[trig("k", "k"), ack])
    assert result.outcomes == ["created", "acknowledged"]
    incident = Incident.objects.get()
    assert incident.status == "acknowledged"
    assert kinds(incident) == ["triggered", "alert_received", "acknowledged"]


@pytest.mark.parametrize(
    ("starts", "ends", "in_maintenance"),
    [
        (timedelta(0), timedelta(hours=1), True),  # starts now: in the window
        (-timedelta(hours=1), timedelta(0), False),  # ends now: over
        (-timedelta(hours=2), -timedelta(hours=1), False),  # past
        (timedelta(minutes=1), timedelta(hours=1), False),  # future
    ],
)
def test_maintenance_is_decided_at_the_moment_of_the_delivery(
    starts: timedelta, ends: timedelta, in_maintenance: bool
) -> None:
    window = MaintenanceWindowFactory(starts_at=NOW + starts, ends_at=NOW + ends)
    other = MaintenanceWindowFactory()  # another service's window changes nothing
    integration = IntegrationFactory(service=window.service)
    with time_machine.travel(NOW, tick=False):
        alerts_ingest(integration=integration, events=[trig("a1")])
    incident = Incident.objects.get(service=window.service)
    assert incident.in_maintenance is in_maintenance
    # In a window: due when it ends (the engine then pages if it still fires).
    assert incident.next_due_at == (NOW + ends if in_maintenance else NOW)
    assert incident.events.filter(kind="maintenance").exists() is in_maintenance
    assert not Incident.objects.filter(service=other.service).exists()


def test_without_on_conflict_the_savepoint_path_gives_the_same_outcomes(monkeypatch) -> None:
    monkeypatch.setattr(ingest_sql, "on_conflict_supported", lambda: False)
    window = MaintenanceWindowFactory()
    integration = IntegrationFactory(service=window.service, grouping=Integration.Grouping.GROUP)
    first = alerts_ingest(integration=integration, events=[trig("a1"), trig("a2")])
    again = alerts_ingest(integration=integration, events=[trig("a1"), trig("a3")])
    assert first.outcomes == ["created", "joined"]
    assert again.outcomes == ["updated", "joined"]
    incident = Incident.objects.get()
    assert incident.in_maintenance is True
    assert sorted(incident.alerts.values_list("alert_key", flat=True)) == ["a1", "a2", "a3"]
    assert IncidentEvent.objects.filter(kind="triggered").count() == 1


def test_a_delivery_of_many_alerts_writes_every_timeline_line(monkeypatch) -> None:
    monkeypatch.setattr(ingest_sql, "MAX_PARAMS_PER_STATEMENT", 40)  # 5 rows per INSERT
    integration = IntegrationFactory(grouping=Integration.Grouping.ALERT)
    events = [trig(f"a{n:02}") for n in range(12)]
    result = alerts_ingest(integration=integration, events=events)
    assert result.created == 12
    assert IncidentEvent.objects.filter(kind="triggered").count() == 12
    assert IncidentEvent.objects.filter(kind="alert_received").count() == 12


# --- Batched: a message of many alerts costs the statements of one ------------------

# BEGIN, confirm the token, look the alerts up, INSERT the incidents, INSERT the alerts,
# INSERT the timeline lines, COMMIT (SAVEPOINT/RELEASE inside the test's transaction).
NEW_MESSAGE_STATEMENTS = 7
# BEGIN, confirm the token, look the alerts up, one UPDATE of them all, COMMIT.
REPEAT_MESSAGE_STATEMENTS = 5


@pytest.mark.parametrize("grouping", [Integration.Grouping.GROUP, Integration.Grouping.ALERT])
def test_a_message_of_50_new_alerts_costs_the_statements_of_one(
    grouping: str, django_assert_num_queries
) -> None:
    integration = IntegrationFactory(grouping=grouping)
    alerts_ingest(integration=integration, events=[trig("warm", "warm")])  # caches, SQL
    with django_assert_num_queries(NEW_MESSAGE_STATEMENTS):
        result = alerts_ingest(integration=integration, events=[trig("one", "g0")])
    assert result.outcomes == ["created"]
    events = [trig(f"a{n:02}") for n in range(50)]
    with django_assert_num_queries(NEW_MESSAGE_STATEMENTS):
        result = alerts_ingest(integration=integration, events=events)
    incidents = 1 if grouping == Integration.Grouping.GROUP else 50
    assert result.created == incidents
    assert Alert.objects.filter(alert_key__startswith="a").count() == 50
    assert IncidentEvent.objects.filter(kind="alert_received").count() == 52
    assert IncidentEvent.objects.filter(kind="triggered").count() == 2 + incidents

    with django_assert_num_queries(REPEAT_MESSAGE_STATEMENTS):
        again = alerts_ingest(integration=integration, events=events)
    assert again.outcomes == ["updated"] * 50
    repeated = Alert.objects.filter(alert_key__startswith="a")
    assert set(repeated.values_list("deliveries", flat=True)) == {2}
    # Joining an open incident costs its look-up too (the INSERT conflicted).
    group = grouping == Integration.Grouping.GROUP
    with django_assert_num_queries(NEW_MESSAGE_STATEMENTS + group):
        joined = alerts_ingest(integration=integration, events=[trig("late", "g1")])
    assert joined.outcomes == ["joined" if group else "created"]


def test_a_mixed_message_is_bounded_and_keeps_every_outcome(django_assert_max_num_queries) -> None:
    integration = IntegrationFactory(grouping=Integration.Grouping.GROUP)
    alerts_ingest(integration=integration, events=[trig(f"old{n}", "g1") for n in range(5)])
    events = [
        *[trig(f"old{n}", "g1") for n in range(5)],  # repeats
        *[trig(f"new{n}", "g1", severity="warning") for n in range(20)],  # join g1
        *[trig(f"x{n}", f"g{n % 3 + 2}", severity="info") for n in range(20)],  # 3 new
    ]
    # + one UPDATE raising severities (none here: joins are lower) at most.
    with django_assert_max_num_queries(REPEAT_MESSAGE_STATEMENTS + 4):
        result = alerts_ingest(integration=integration, events=events)
    assert result.outcomes[:5] == ["updated"] * 5
    assert result.outcomes[5:25] == ["joined"] * 20
    assert sorted(result.outcomes[25:]) == ["created"] * 3 + ["joined"] * 17
    assert result.created == 3
    assert Incident.objects.count() == 4


def test_severities_raised_by_a_message_keep_the_opening_line() -> None:
    integration = IntegrationFactory(grouping=Integration.Grouping.GROUP)
    alerts_ingest(integration=integration, events=[trig("p", "g2", severity="info")])
    result = alerts_ingest(
        integration=integration,
        events=[
            trig("a", "g1", severity="warning"),
            trig("b", "g1", severity="critical"),
            trig("q", "g2", severity="critical"),
        ],
    )
    assert result.outcomes == ["created", "joined", "joined"]
    g1, g2 = Incident.objects.get(dedup_key="g1"), Incident.objects.get(dedup_key="g2")
    assert (g1.severity, g2.severity) == ("critical", "critical")
    assert g1.events.get(kind="triggered").text.endswith(", warning")


def test_the_same_alert_twice_in_one_message_is_recorded_once() -> None:
    integration = IntegrationFactory(grouping=Integration.Grouping.ALERT)
    result = alerts_ingest(integration=integration, events=[trig("a", "a"), trig("a", "a")])
    assert result.outcomes == ["created", "updated"]
    assert Alert.objects.get().deliveries == 2


def test_an_alert_whose_incident_was_resolved_by_hand_opens_a_new_one_in_a_batch() -> None:
    from paging.incident_actions import incident_resolve

    integration = IntegrationFactory(grouping=Integration.Grouping.ALERT)
    first = alerts_ingest(integration=integration, events=[trig("a", "a"), trig("b", "b")])
    incident_resolve(incident_id=first.incident_ids[0])
    again = alerts_ingest(integration=integration, events=[trig("a", "a"), trig("b", "b")])
    assert again.outcomes == ["created", "updated"]
    assert Alert.objects.filter(alert_key="a").values_list("status", flat=True).count() == 2
    assert sorted(Alert.objects.filter(alert_key="a").values_list("status", flat=True)) == [
        "firing",
        "resolved",
    ]


def test_incidents_touched_are_listed_in_alert_key_order_repeats_included() -> None:
    integration = IntegrationFactory(grouping=Integration.Grouping.ALERT)
    first = alerts_ingest(integration=integration, events=[trig("b", "b")])
    result = alerts_ingest(integration=integration, events=[trig("b", "b"), trig("a", "a")])
    assert result.outcomes == ["updated", "created"]
    assert result.dedup_keys == ["b", "a"]
    new = Incident.objects.get(dedup_key="a").pk
    assert result.incident_ids == [new, first.incident_ids[0]]  # "a" before "b"
