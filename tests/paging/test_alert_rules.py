"""Alert rules end to end: real Alertmanager v4 messages through the endpoint, each
operator and action, rule order and ``continue``, the timeline, the engine."""

from __future__ import annotations

from datetime import timedelta

import pytest

from paging.engine import tick
from paging.models import Alert, Incident, IncidentEvent, Integration
from tests.paging.factories import IntegrationFactory, ServiceFactory, policy_with_steps
from tests.paging.rules_helpers import am, incident_of, post, rules_set
from tests.support import SMS_AT_ONCE, engineer_with

pytestmark = pytest.mark.django_db


def paged_engineer(name: str, phone: str):
    return engineer_with(name, phone, SMS_AT_ONCE)


@pytest.fixture
def integration() -> Integration:
    return IntegrationFactory(grouping=Integration.Grouping.ALERT)


def only(name: str, **actions) -> dict:
    return {"name": name, "conditions": [], "actions": actions}


# --- operators ------------------------------------------------------------------------

OPERATOR_CASES = [
    # (condition, labels that match, labels that do not)
    ({"field": "labels.service", "op": "equals", "value": "postgresql"},
     {"service": "postgresql"}, {"service": "postgres"}),
    ({"field": "labels.service", "op": "not_equals", "value": "postgresql"},
     {"service": "mysql"}, {"service": "postgresql"}),
    ({"field": "labels.instance", "op": "regex", "value": "db-[0-9]+"},
     {"instance": "db-12"}, {"instance": "db-12.example.com"}),  # anchored, as =~
    ({"field": "labels.instance", "op": "not_regex", "value": "db-.*"},
     {"instance": "web-1"}, {"instance": "db-1"}),
    ({"field": "labels.env", "op": "in", "value": ["prod", "staging"]},
     {"env": "staging"}, {"env": "dev"}),
    ({"field": "labels.runbook", "op": "exists", "value": True},
     {"runbook": "x"}, {}),
    ({"field": "labels.runbook", "op": "exists", "value": False},
     {}, {"runbook": "x"}),
    ('service="postgresql"', {"service": "postgresql"}, {"service": "mysql"}),
    ('service!="postgresql"', {}, {"service": "postgresql"}),  # absent label = ""
    ('instance=~"db-.*"', {"instance": "db-1"}, {"instance": "web-1"}),
    ('instance!~"db-.*"', {"instance": "web-1"}, {"instance": "db-1"}),
    ({"field": "severity", "op": "equals", "value": "warning"},  # the parsed severity
     {"severity": "warn"}, {"severity": "critical"}),
    ({"field": "annotations.summary", "op": "regex", "value": "PaymentAPIDown .*"},
     {}, {"alertname": "Other"}),
]  # fmt: skip


@pytest.mark.parametrize(("condition", "hit", "miss"), OPERATOR_CASES)
def test_each_operator_on_real_alertmanager_alerts(integration, condition, hit, miss) -> None:
    rules_set(integration, [{"name": "p2", "conditions": [condition], "actions": {"priority": 2}}])
    post(integration, am("aaaa000000000001", **hit), am("bbbb000000000002", **miss))
    assert incident_of("aaaa000000000001").priority == 2
    assert incident_of("bbbb000000000002").priority is None


def test_all_and_any(integration) -> None:
    conditions = ['service="postgresql"', 'env="prod"']
    rules_set(
        integration,
        [
            {"name": "both", "conditions": conditions, "actions": {"priority": 1}},
            {
                "name": "either",
                "match": "any",
                "conditions": conditions,
                "actions": {"priority": 3},
            },
        ],
    )
    post(
        integration,
        am("aaaa000000000001", service="postgresql", env="prod"),
        am("bbbb000000000002", service="postgresql", env="dev"),
        am("cccc000000000003", service="mysql", env="dev"),
    )
    assert incident_of("aaaa000000000001").priority == 1
    assert incident_of("bbbb000000000002").priority == 3
    assert incident_of("cccc000000000003").priority is None


# --- actions --------------------------------------------------------------------------


def test_route_to_a_service_pages_its_policy(integration, clock, channel) -> None:
    dba = paged_engineer("Dana DBA", "+14155550101")
    database = ServiceFactory(name="postgresql", escalation_policy=policy_with_steps([dba]))
    rules_set(
        integration,
        [
            {
                "name": "database",
                "conditions": ['service="postgresql"'],
                "actions": {"service": "postgresql"},
            }
        ],
    )
    post(integration, am("aaaa000000000001", service="postgresql"), am("bbbb000000000002"))
    routed = incident_of("aaaa000000000001")
    assert routed.service == database
    assert routed.escalation_policy_id == database.escalation_policy_id
    assert Alert.objects.get(alert_key__startswith="aaaa").service == database
    assert incident_of("bbbb000000000002").service == integration.service
    tick()
    assert [s.destination for s in channel.sent] == ["+14155550101"]
    # A repeat of the routed alert is a repeat, and its resolve resolves it there.
    assert post(integration, am("aaaa000000000001", service="postgresql"))["incident_ids"] == [
        routed.pk
    ]
    post(integration, am("aaaa000000000001", "resolved", service="postgresql"))
    routed.refresh_from_db()
    assert routed.status == Incident.Status.RESOLVED


def test_set_severity_urgency_and_priority(integration) -> None:
    rules_set(
        integration,
        [
            {
                "name": "warnings at night",
                "conditions": ['severity="warning"'],
                "actions": {"severity": "error", "urgency": "low", "priority": "P4"},
            }
        ],
    )
    post(integration, am("aaaa000000000001", severity="warning"))
    incident = incident_of("aaaa000000000001")
    assert (incident.severity, incident.urgency, incident.priority) == ("error", "low", 4)
    assert incident.alerts.get().severity == "error"
    triggered = incident.events.get(kind="triggered")
    assert triggered.text == "low urgency, error, P4"


def test_suppress_records_the_incident_and_pages_nobody(integration, clock, channel) -> None:
    alice = paged_engineer("Alice", "+14155550001")
    integration.service.escalation_policy = policy_with_steps([alice])
    integration.service.save()
    rules_set(
        integration,
        [{"name": "drop info", "conditions": ['severity="info"'], "actions": {"suppress": True}}],
    )
    post(integration, am("aaaa000000000001", severity="info"), am("bbbb000000000002"))
    quiet = incident_of("aaaa000000000001")
    assert quiet.status == Incident.Status.TRIGGERED  # visible, open, counted
    assert quiet.suppressed_by == "rule drop info"
    assert quiet.next_due_at is None
    assert list(quiet.events.values_list("kind", "text")) == [
        ("triggered", "low urgency, info"),
        ("suppressed", "rule drop info: nobody paged"),
        ("alert_received", "PaymentAPIDown aaaa000000000001 (rule 'drop info' matched: suppress)"),
    ]
    tick()
    clock.shift(timedelta(hours=2))
    tick()
    assert {s.incident_id for s in channel.sent} == {incident_of("bbbb000000000002").pk}


def test_an_unsuppressed_alert_joining_a_suppressed_incident_pages_it(clock, channel) -> None:
    alice = paged_engineer("Alice", "+14155550001")
    service = ServiceFactory(escalation_policy=policy_with_steps([alice]))
    integration = IntegrationFactory(service=service, grouping=Integration.Grouping.GROUP)
    rules_set(
        integration,
        [{"name": "drop info", "conditions": ['severity="info"'], "actions": {"suppress": True}}],
    )
    post(integration, am("aaaa000000000001", severity="info"), group_key="g")
    tick()
    assert channel.sent == []
    post(integration, am("bbbb000000000002", severity="critical"), group_key="g")
    incident = Incident.objects.get()
    assert incident.suppressed_by == ""
    assert incident.events.filter(kind="suppression_ended").exists()
    tick()
    assert [s.incident_id for s in channel.sent] == [incident.pk]


def test_links_from_a_runbook_template(integration) -> None:
    href = "https://runbooks.example.com/{{ labels.alertname }}/{{ labels.instance }}"
    link = {"text": "Runbook for {{ labels.alertname }}", "href": href}
    rules_set(integration, [only("runbooks", links=[link])])
    post(integration, am("aaaa000000000001", instance="db 1/a"))
    incident = incident_of("aaaa000000000001")
    assert incident.links[-1] == {
        "text": "Runbook for PaymentAPIDown",
        "href": "https://runbooks.example.com/PaymentAPIDown/db%201%2Fa",  # values quoted
    }
    assert incident.links[0]["text"] == "Source"  # the alert's own links stay


def test_dedup_key_from_a_label_template_groups_by_instance(integration) -> None:
    rules_set(integration, [only("by instance", dedup_key="{{ labels.instance }}")])
    post(
        integration,
        am("aaaa000000000001", alertname="DiskFull", instance="db-1"),
        am("bbbb000000000002", alertname="HighLoad", instance="db-1"),
        am("cccc000000000003", alertname="HighLoad", instance="db-2"),
    )
    assert sorted(Incident.objects.values_list("dedup_key", flat=True)) == ["db-1", "db-2"]
    assert Incident.objects.get(dedup_key="db-1").alerts.count() == 2


def test_business_hours_of_a_holiday_calendar(integration, clock) -> None:
    from schedules.models import Holiday, HolidayCalendar

    germany = HolidayCalendar.objects.create(name="Germany")
    rules_set(
        integration,
        [
            {
                "name": "quiet outside office hours",
                "conditions": [
                    'severity="warning"',
                    {"op": "outside_business_hours", "calendar": "Germany",
                     "time_zone": "Europe/Berlin", "hours": "09:00-17:00"},
                ],
                "actions": {"priority": 5},
            }
        ],
    )  # fmt: skip
    # T0 is Monday 2026-03-02 03:00 UTC = 04:00 in Berlin: outside.
    post(integration, am("aaaa000000000001", severity="warning"))
    assert incident_of("aaaa000000000001").priority == 5
    clock.move_to("2026-03-02T09:30:00Z")  # 10:30 Berlin, a Monday: inside
    post(integration, am("bbbb000000000002", severity="warning", starts_at="2026-03-02T09:29:00Z"))
    assert incident_of("bbbb000000000002").priority is None
    # The same time on a holiday of the calendar is outside (the cache reloads within 5 s).
    Holiday.objects.create(calendar=germany, date="2026-03-03", name="Test day")
    clock.move_to("2026-03-03T09:30:00Z")
    from paging.rules_cache import rules_cache_clear

    rules_cache_clear()
    post(integration, am("cccc000000000003", severity="warning", starts_at="2026-03-03T09:29:00Z"))
    assert incident_of("cccc000000000003").priority == 5


# --- order and continue ---------------------------------------------------------------


def test_first_match_wins(integration) -> None:
    rules_set(
        integration,
        [
            {"name": "db", "conditions": ['service="postgresql"'], "actions": {"priority": 2}},
            {"name": "critical", "conditions": ['severity="critical"'], "actions": {"priority": 1}},
        ],
    )
    post(integration, am("aaaa000000000001", service="postgresql"), am("bbbb000000000002"))
    db, other = incident_of("aaaa000000000001"), incident_of("bbbb000000000002")
    assert (db.priority, other.priority) == (2, 1)
    received = db.events.get(kind="alert_received")
    assert received.data["rules"] == ["db"]
    assert "rule 'db' matched: priority P2" in received.text


def test_continue_applies_later_rules_too_and_later_settings_win(integration) -> None:
    rules_set(
        integration,
        [
            {"name": "db", "conditions": ['service="postgresql"'], "continue": True,
             "actions": {"priority": 2, "links": [{"text": "DB", "href": "https://db.example.com"}]}},
            {"name": "disabled", "enabled": False, "conditions": [], "actions": {"priority": 5}},
            {"name": "critical", "conditions": ['severity="critical"'], "continue": True,
             "actions": {"priority": 1, "links": [{"text": "Crit", "href": "https://c.example.com"}]}},
            {"name": "all", "conditions": [], "actions": {"urgency": "low"}},
            {"name": "never reached", "conditions": [], "actions": {"suppress": True}},
        ],
    )  # fmt: skip
    post(integration, am("aaaa000000000001", service="postgresql"))
    incident = incident_of("aaaa000000000001")
    assert (incident.priority, incident.urgency, incident.suppressed_by) == (1, "low", "")
    assert [link["text"] for link in incident.links][-2:] == ["DB", "Crit"]
    received = incident.events.get(kind="alert_received")
    assert received.data["rules"] == ["db", "critical", "all"]


def test_rule_order_is_the_list_order_and_an_edit_applies_to_the_next_alert(integration) -> None:
    first = {"name": "a", "conditions": [], "actions": {"priority": 1}}
    second = {"name": "b", "conditions": [], "actions": {"priority": 2}}
    rules_set(integration, [first, second])
    post(integration, am("aaaa000000000001"))
    rules_set(integration, [second, first])  # same rows, new order (version bumped)
    post(integration, am("bbbb000000000002"))
    assert incident_of("aaaa000000000001").priority == 1
    assert incident_of("bbbb000000000002").priority == 2


def test_a_joining_alert_raises_urgency_but_leaves_the_priority() -> None:
    integration = IntegrationFactory(grouping=Integration.Grouping.GROUP)
    db = {"priority": 1, "urgency": "high"}
    rest = {"priority": 3, "urgency": "low"}
    rules_set(
        integration,
        [
            {"name": "db", "conditions": ['service="postgresql"'], "actions": db},
            {"name": "rest", "conditions": [], "actions": rest},
        ],
    )
    post(integration, am("aaaa000000000001"), group_key="g")
    incident = Incident.objects.get()
    assert (incident.priority, incident.urgency) == (3, "low")
    post(integration, am("bbbb000000000002", service="postgresql"), group_key="g")
    incident.refresh_from_db()
    # The priority chose the policy when the incident opened: a joining alert leaves it.
    assert (incident.priority, incident.urgency) == (3, "high")


def test_a_rule_priority_picks_the_services_policy_for_it(
    integration, django_assert_num_queries
) -> None:
    from paging.models import ServicePriorityPolicy
    from tests.paging.factories import EscalationPolicyFactory
    from tests.paging.test_ingest_fast_path import NEW_MESSAGE_STATEMENTS

    urgent = EscalationPolicyFactory(name="five minutes")
    ServicePriorityPolicy.objects.create(
        service=integration.service, priority=1, escalation_policy=urgent
    )
    rules_set(integration, [{"name": "critical is P1", "conditions": ['severity="critical"'],
                             "actions": {"priority": "P1"}}])  # fmt: skip
    post(integration, am("0000000000000000"))  # compiles the rules (and the policies)
    from paging.inbound.alertmanager import alertmanager_parse
    from paging.ingest import alerts_ingest
    from tests.paging.rules_helpers import message

    events = alertmanager_parse(
        message(am("aaaa000000000001"), am("bbbb000000000002", severity="warning"))
    )
    with django_assert_num_queries(NEW_MESSAGE_STATEMENTS):  # no look-up of the policies
        alerts_ingest(integration=integration, events=events)
    critical, warning = incident_of("aaaa000000000001"), incident_of("bbbb000000000002")
    assert (critical.priority, critical.escalation_policy) == (1, urgent)
    assert (warning.priority, warning.escalation_policy_id) == (None, None)


def test_twenty_rules_cost_no_statement_per_message(integration, django_assert_num_queries) -> None:
    from tests.paging.test_ingest_fast_path import NEW_MESSAGE_STATEMENTS

    rules_set(
        integration,
        [
            {"name": f"r{n}", "conditions": [f'service="s{n}"'], "actions": {"priority": 2}}
            for n in range(19)
        ]
        + [only("runbook", links=[{"href": "https://rb.example.com/{{ labels.alertname }}"}])],
    )
    post(integration, am("0000000000000000"))  # compiles and caches the rules
    alerts = [am(f"{n:016x}", instance=f"i{n}") for n in range(1, 51)]
    from paging.inbound.alertmanager import alertmanager_parse
    from paging.ingest import alerts_ingest
    from tests.paging.rules_helpers import message

    events = alertmanager_parse(message(*alerts))
    with django_assert_num_queries(NEW_MESSAGE_STATEMENTS):
        result = alerts_ingest(integration=integration, events=events)
    assert result.created == 50
    assert (
        IncidentEvent.objects.filter(kind="alert_received", data__rules=["runbook"]).count() == 51
    )


def test_compiled_rules_follow_the_version_and_no_rules_never_goes_stale(
    integration, monkeypatch, django_assert_num_queries
) -> None:
    from paging import rules_cache
    from paging.inbound.alertmanager import alertmanager_parse
    from paging.ingest import alerts_ingest
    from tests.paging.rules_helpers import message
    from tests.paging.test_ingest_fast_path import NEW_MESSAGE_STATEMENTS

    def ingest(fingerprint: str) -> None:
        alerts_ingest(integration=integration, events=alertmanager_parse(message(am(fingerprint))))

    clock = [1000.0]
    monkeypatch.setattr(rules_cache.time, "monotonic", lambda: clock[0])
    ingest("0000000000000001")  # looks once: no rules, no inhibit rules
    clock[0] += 3600
    with django_assert_num_queries(NEW_MESSAGE_STATEMENTS):
        ingest("0000000000000002")
    rules_set(integration, [only("p3", priority=3)])  # the version moves: read at once
    ingest("0000000000000003")
    assert incident_of("0000000000000003").priority == 3
    clock[0] += rules_cache.TTL_SECONDS + 1  # compiled rules are read again after the TTL
    # + the rules, the inhibit rules and (a rule sets a priority) the policies per priority.
    with django_assert_num_queries(NEW_MESSAGE_STATEMENTS + 3):
        ingest("0000000000000004")
