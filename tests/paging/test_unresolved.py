"""Unresolved steps: notices N minutes after the trigger that run even after an ack,
through each person's low-urgency ladder start or to a Slack channel; versioned; once
only; cancelled by a resolve. And ``notice_send``, which other apps reuse."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction

from paging.alert_event import AlertEvent
from paging.engine import tick
from paging.incident_actions import incident_acknowledge, incident_resolve
from paging.ingest import alerts_ingest
from paging.models import Incident, IncidentEvent, Message
from paging.notices import SlackChannel, notice_send, unresolved_notices_batch
from paging.policy_writes import (
    StepSpec,
    TargetSpec,
    UnresolvedSpec,
    policy_save,
    unresolved_specs_of,
)
from tests.factories import (
    ContactMethodFactory,
    EngineerFactory,
    MembershipFactory,
    NotificationRuleFactory,
    TeamFactory,
)
from tests.paging.factories import IntegrationFactory, ServiceFactory
from tests.support import T0, RecordingChannel, engineer_with_ladder

pytestmark = pytest.mark.django_db

ALICE = "+14155550001"
CAROL_MAIL = "carol@example.test"
CAROL_PHONE = "+14155550003"
LEADS = "C0LEADS"


def manager(name: str = "Carol", mail: str = CAROL_MAIL, phone: str = CAROL_PHONE):
    """Low urgency: e-mail at once, SMS after 10 minutes; high urgency: a call at once."""
    engineer = EngineerFactory(display_name=name)
    email = ContactMethodFactory(engineer=engineer, kind="email", value=mail)
    sms = ContactMethodFactory(engineer=engineer, kind="sms", value=phone)
    voice = ContactMethodFactory(engineer=engineer, kind="voice", value=phone)
    NotificationRuleFactory(engineer=engineer, contact_method=email, urgency="low")
    NotificationRuleFactory(engineer=engineer, contact_method=sms, urgency="low", delay_minutes=10)
    NotificationRuleFactory(engineer=engineer, contact_method=voice, urgency="high")
    return engineer


def unresolved_to(engineer=None, *, minutes: int, channel: str = "", **limits) -> UnresolvedSpec:
    target = (
        TargetSpec(kind="slack_channel", address=channel)
        if channel
        else TargetSpec(kind="engineer", engineer_id=engineer.pk)
    )
    return UnresolvedSpec(after_minutes=minutes, target=target, **limits)


def service_with(responder, unresolved: list[UnresolvedSpec], name: str = "Primary"):
    policy = policy_save(
        policy=None,
        fields={"name": name},
        steps=[StepSpec(delay_minutes=10, targets=[TargetSpec("engineer", responder.pk)])],
        unresolved=unresolved,
    )
    return ServiceFactory(escalation_policy=policy)


def fire(service, key: str = "k1", priority: int | None = None) -> Incident:
    integration = IntegrationFactory(service=service, kind="webhook")
    result = alerts_ingest(
        integration=integration,
        events=[
            AlertEvent(
                action="trigger", alert_key=key, group_key=key, title="DB down", priority=priority
            )
        ],
    )
    return Incident.objects.get(pk=result.incident_ids[0])


def notices(channel: RecordingChannel) -> list[tuple[str, str]]:
    return [(s.kind, s.destination) for s in channel.sent if s.destination != ALICE]


def test_unresolved_steps_fire_after_an_ack_through_the_ladder_start_and_the_channel(
    clock, channel: RecordingChannel
) -> None:
    alice = engineer_with_ladder("Alice", ALICE)
    carol = manager()
    service = service_with(
        alice, [unresolved_to(carol, minutes=30), unresolved_to(minutes=60, channel=LEADS)]
    )
    incident = fire(service)
    tick()
    clock.shift(timedelta(minutes=2))
    incident_acknowledge(incident_id=incident.pk, engineer_id=alice.pk, via="api")

    clock.shift(timedelta(minutes=27, seconds=59))  # 29:59 after the trigger
    tick()
    assert notices(channel) == []

    clock.shift(timedelta(seconds=1))  # 30:00
    tick()
    # Carol's low-urgency ladder start only (the e-mail; not the SMS at +10, not the
    # high-urgency call), sent now although the incident is acknowledged.
    assert notices(channel) == [("email", CAROL_MAIL)]
    sent = channel.to(CAROL_MAIL)[0]
    assert sent.at == T0 + timedelta(minutes=30)
    assert sent.incident_id is None  # a notice: no ack cancels it, no ack is asked for
    assert "Still unresolved after 30 min" in sent.body
    assert f"incident #{incident.pk}, acknowledged by Alice" in sent.body
    message = Message.objects.get(destination=CAROL_MAIL)
    assert (message.purpose, message.engineer_id) == ("notice", carol.pk)
    line = incident.events.get(kind=IncidentEvent.Kind.UNRESOLVED_NOTICE)
    assert line.text == f"not resolved after 30 min: notified Carol (email {CAROL_MAIL})"
    assert line.data["engineer_ids"] == [carol.pk]

    clock.shift(timedelta(minutes=10))  # the ladder is not climbed: no SMS at +10
    tick()
    assert notices(channel) == [("email", CAROL_MAIL)]

    clock.shift(timedelta(minutes=20))  # 60:00
    tick()
    assert notices(channel) == [("email", CAROL_MAIL), ("slack_channel", LEADS)]
    incident.refresh_from_db()
    assert incident.status == Incident.Status.ACKNOWLEDGED
    assert (incident.unresolved_step, incident.unresolved_due_at) == (2, None)
    clock.shift(timedelta(hours=3))
    tick()
    assert len(notices(channel)) == 2  # every step ran once


def test_a_person_without_low_urgency_rules_gets_their_first_pageable_method(
    clock, channel: RecordingChannel
) -> None:
    alice = engineer_with_ladder("Alice", ALICE)
    dave = engineer_with_ladder("Dave", "+14155550004")  # high-urgency rules only
    incident = fire(service_with(alice, [unresolved_to(dave, minutes=15)]))
    tick()
    clock.shift(timedelta(minutes=15))
    tick()
    # The ladder cache's fallback: the first pageable method (by kind, then id) at once.
    assert notices(channel) == [("sms", "+14155550004")]
    assert incident.events.filter(kind="unresolved_notice").count() == 1


def test_nothing_is_sent_when_resolved_before_the_step(clock, channel: RecordingChannel) -> None:
    alice = engineer_with_ladder("Alice", ALICE)
    incident = fire(service_with(alice, [unresolved_to(manager(), minutes=30)]))
    tick()
    clock.shift(timedelta(minutes=29))
    incident_resolve(incident_id=incident.pk, engineer_id=alice.pk, via="api")
    clock.shift(timedelta(minutes=5))
    tick()
    assert notices(channel) == []
    incident.refresh_from_db()
    assert incident.unresolved_due_at is None
    assert not incident.events.filter(kind="unresolved_notice").exists()


def test_resolve_cancels_the_rest_and_pending_notices(clock, channel: RecordingChannel) -> None:
    alice = engineer_with_ladder("Alice", ALICE)
    carol = manager()
    incident = fire(
        service_with(
            alice, [unresolved_to(carol, minutes=30), unresolved_to(minutes=60, channel=LEADS)]
        )
    )
    tick()
    clock.shift(timedelta(minutes=30))
    # The step runs but its notice has not left yet when the resolve comes.
    with transaction.atomic():
        assert unresolved_notices_batch() == 1
    assert Message.objects.get(destination=CAROL_MAIL).status == "pending"
    incident_resolve(incident_id=incident.pk, engineer_id=alice.pk, via="api")
    assert Message.objects.get(destination=CAROL_MAIL).status == "cancelled"
    clock.shift(timedelta(hours=2))
    tick()
    assert notices(channel) == []
    assert not Message.objects.filter(destination=LEADS).exists()


def test_each_step_fires_once_across_two_ticks_and_a_second_worker(
    clock, channel: RecordingChannel
) -> None:
    alice = engineer_with_ladder("Alice", ALICE)
    incident = fire(service_with(alice, [unresolved_to(manager(), minutes=30)]))
    tick()
    clock.shift(timedelta(minutes=31))
    tick()
    tick()  # a second tick at the same moment
    # A second worker that read the incident before the first committed runs the step
    # again: the outbox key (incident, purpose, person, method, rule) holds it to one.
    Incident.objects.filter(pk=incident.pk).update(
        unresolved_step=0, unresolved_due_at=T0 + timedelta(minutes=30)
    )
    tick()
    assert notices(channel) == [("email", CAROL_MAIL)]
    assert Message.objects.filter(purpose="notice").count() == 1


def test_priority_and_urgency_filters(clock, channel: RecordingChannel) -> None:
    alice = engineer_with_ladder("Alice", ALICE)
    carol = manager()
    erin = manager("Erin", "erin@example.test", "+14155550005")
    service = service_with(
        alice,
        [
            unresolved_to(carol, minutes=30, priorities=(1, 2)),
            unresolved_to(erin, minutes=30, urgency="low"),
        ],
    )
    p3 = fire(service, "p3", priority=3)
    p1 = fire(service, "p1", priority=1)
    ungraded = fire(service, "none")
    tick()
    clock.shift(timedelta(minutes=30))
    tick()
    # Only the P1 incident notifies Carol; all are high urgency, so Erin hears nothing.
    assert notices(channel) == [("email", CAROL_MAIL)]
    assert f"incident #{p1.pk}," in channel.to(CAROL_MAIL)[0].body
    assert [i.events.filter(kind="unresolved_notice").count() for i in (p3, p1, ungraded)] == [
        0,
        1,
        0,
    ]


def test_schedule_and_team_targets_notify_everyone_they_name(
    clock, channel: RecordingChannel
) -> None:
    alice = engineer_with_ladder("Alice", ALICE)
    team = TeamFactory()
    carol, erin = manager(), manager("Erin", "erin@example.test", "+14155550005")
    MembershipFactory(team=team, engineer=carol)
    MembershipFactory(team=team, engineer=erin)
    spec = UnresolvedSpec(after_minutes=20, target=TargetSpec(kind="team_all", team_id=team.pk))
    incident = fire(service_with(alice, [spec]))
    tick()
    clock.shift(timedelta(minutes=20))
    tick()
    assert sorted(notices(channel)) == [("email", CAROL_MAIL), ("email", "erin@example.test")]
    line = incident.events.get(kind="unresolved_notice")
    assert sorted(line.data["engineer_ids"]) == sorted([carol.pk, erin.pk])


def test_in_flight_incidents_keep_the_unresolved_steps_of_their_version(
    clock, channel: RecordingChannel
) -> None:
    alice = engineer_with_ladder("Alice", ALICE)
    carol = manager()
    erin = manager("Erin", "erin@example.test", "+14155550005")
    service = service_with(alice, [unresolved_to(carol, minutes=30)])
    policy = service.escalation_policy
    first = fire(service, "first")
    tick()
    assert first.__class__.objects.get(pk=first.pk).escalation_version.unresolved[0][
        "engineer"
    ] == (carol.pk)

    # The edit writes version 2 (the steps did not change, the unresolved steps did).
    policy_save(policy=policy, fields={}, steps=None, unresolved=[unresolved_to(erin, minutes=30)])
    policy.refresh_from_db()
    assert policy.current_version.number == 2
    assert [u.target.engineer_id for u in unresolved_specs_of(policy)] == [erin.pk]
    second = fire(service, "second")
    tick()
    clock.shift(timedelta(minutes=30))
    tick()
    assert sorted(notices(channel)) == [("email", CAROL_MAIL), ("email", "erin@example.test")]
    assert f"incident #{first.pk}," in channel.to(CAROL_MAIL)[0].body
    assert f"incident #{second.pk}," in channel.to("erin@example.test")[0].body


def test_a_policy_with_no_unresolved_steps_leaves_nothing_due(clock, channel) -> None:
    alice = engineer_with_ladder("Alice", ALICE)
    incident = fire(service_with(alice, []))
    tick()
    incident.refresh_from_db()
    assert incident.escalation_version is not None
    assert incident.unresolved_due_at is None


def test_notice_send_is_idempotent_per_purpose_and_reusable(clock) -> None:
    alice = engineer_with_ladder("Alice", ALICE)
    carol = manager()
    incident = fire(ServiceFactory())
    with transaction.atomic():
        first = notice_send(incident, carol, "Status: identified", purpose="update:1")
        again = notice_send(incident, carol.pk, "Status: identified", purpose="update:1")
        other = notice_send(incident, carol, "Status: monitoring", purpose="update:2")
        post = notice_send(incident, SlackChannel(LEADS), "Status: identified", purpose="update:1")
    assert (first.created, again.created, other.created, post.created) == (1, 0, 1, 1)
    assert first.reached == f"Carol (email {CAROL_MAIL})"
    assert [m.pk for m in first.messages] == [m.pk for m in again.messages]
    rows = Message.objects.order_by("id")
    assert [(m.kind, m.destination, m.purpose, m.incident_id) for m in rows] == [
        ("email", CAROL_MAIL, "notice", None),
        ("email", CAROL_MAIL, "notice", None),
        ("slack_channel", LEADS, "notice", None),
    ]
    nobody = EngineerFactory(display_name="Nobody")
    with transaction.atomic():
        result = notice_send(incident, nobody, "x", purpose="update:1")
    assert (result.created, result.problem) == (0, "Nobody has no pageable contact method")
    assert alice  # Alice has contact methods but was not addressed


def test_apply_to_open_moves_the_unresolved_steps_too(clock, channel: RecordingChannel) -> None:
    from paging.policy_versions import policy_version_apply_to_open

    alice = engineer_with_ladder("Alice", ALICE)
    carol = manager()
    erin = manager("Erin", "erin@example.test", "+14155550005")
    service = service_with(alice, [unresolved_to(carol, minutes=30)])
    incident = fire(service)
    tick()
    clock.shift(timedelta(minutes=30))
    tick()  # v1's step: Carol
    policy = service.escalation_policy
    policy_save(
        policy=policy,
        fields={},
        steps=None,
        unresolved=[unresolved_to(carol, minutes=30), unresolved_to(erin, minutes=45)],
    )
    assert policy_version_apply_to_open(policy_id=policy.pk).moved == 1
    clock.shift(timedelta(minutes=1))
    tick()
    # v2 from its first step: Carol's 30-minute notice is not sent again (its key).
    assert notices(channel) == [("email", CAROL_MAIL)]
    lines = incident.events.filter(kind="unresolved_notice").values_list("text", flat=True)
    assert list(lines)[-1].endswith(f"notified Carol (email {CAROL_MAIL}) (already notified)")
    clock.shift(timedelta(minutes=14))  # 45:00
    tick()
    assert notices(channel) == [("email", CAROL_MAIL), ("email", "erin@example.test")]
    incident.refresh_from_db()
    assert (incident.escalation_version.number, incident.unresolved_due_at) == (2, None)
