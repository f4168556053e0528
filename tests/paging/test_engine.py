"""The escalation engine on a moved clock: steps, rules, ack, repeat, timeouts, fallback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from oncall.people.models import ContactMethod
from paging.channels import TransportError
from paging.engine import tick
from paging.incident_actions import incident_acknowledge, incident_resolve
from paging.models import Incident, IncidentEvent, Message
from paging.outbox import MAX_ATTEMPTS, message_enqueue, message_fallback
from tests.factories import (
    ContactMethodFactory,
    EngineerFactory,
    MembershipFactory,
    NotificationRuleFactory,
    TeamFactory,
)
from tests.paging.factories import (
    EscalationPolicyFactory,
    EscalationStepFactory,
    EscalationTargetFactory,
    ServiceFactory,
    policy_with_steps,
)
from tests.support import T0, RecordingChannel, engineer_with_ladder, fire

pytestmark = pytest.mark.django_db


def test_two_step_policy_pages_by_rules_until_ack(clock, channel: RecordingChannel) -> None:
    alice = engineer_with_ladder("Alice", "+14155550001")
    bob = engineer_with_ladder("Bob", "+14155550002")
    service = ServiceFactory(escalation_policy=policy_with_steps([alice], [bob], delay_minutes=10))
    incident = fire(service)

    tick()
    assert [(s.kind, s.destination) for s in channel.sent] == [("sms", "+14155550001")]
    clock.shift(timedelta(minutes=5))
    tick()
    assert [(s.kind, s.destination) for s in channel.sent][-1] == ("voice", "+14155550001")
    clock.shift(timedelta(minutes=5))  # step 2 is due 10 minutes after step 1
    tick()
    assert [(s.kind, s.destination, s.at) for s in channel.sent][-1] == (
        "sms",
        "+14155550002",
        T0 + timedelta(minutes=10),
    )
    incident_acknowledge(incident_id=incident.pk, engineer_id=bob.pk, via="api")
    # Bob's call at +5 is cancelled by the ack.
    clock.shift(timedelta(hours=2))
    tick()
    assert len(channel.sent) == 3
    assert Message.objects.filter(incident=incident, status="cancelled").count() == 1
    kinds = list(incident.events.values_list("kind", flat=True))
    assert kinds.count("escalation_step") == 2
    assert kinds.count("notification_sent") == 3
    assert kinds[-1] == "acknowledged"
    incident.refresh_from_db()
    assert incident.next_due_at is None
    assert list(incident.assigned_to.all()) == [bob]


def test_ticks_are_idempotent(clock, channel: RecordingChannel) -> None:
    alice = engineer_with_ladder("Alice", "+14155550001")
    service = ServiceFactory(escalation_policy=policy_with_steps([alice]))
    fire(service)
    for _ in range(3):
        tick()
    assert len(channel.sent) == 1
    assert Message.objects.count() == 2  # sms now + voice pending


def test_page_for_an_acked_incident_is_cancelled_not_sent(clock, channel) -> None:
    alice = engineer_with_ladder("Alice", "+14155550001")
    service = ServiceFactory(escalation_policy=policy_with_steps([alice]))
    incident = fire(service)
    from paging.escalation import escalations_advance

    escalations_advance()  # pages queued, not yet dispatched
    # An ack that (in a race) missed the just-written rows: the dispatcher re-checks.
    Incident.objects.filter(pk=incident.pk).update(status="acknowledged")
    tick()
    assert channel.sent == []
    assert set(Message.objects.values_list("status", flat=True)) == {"cancelled", "pending"}


def test_second_ack_changes_nothing_and_names_the_first(clock, channel) -> None:
    alice = engineer_with_ladder("Alice", "+14155550001")
    bob = EngineerFactory()
    incident = fire(ServiceFactory(escalation_policy=policy_with_steps([alice])))
    first = incident_acknowledge(incident_id=incident.pk, engineer_id=alice.pk)
    clock.shift(timedelta(seconds=30))
    second = incident_acknowledge(incident_id=incident.pk, engineer_id=bob.pk)
    assert first.changed and not second.changed
    assert second.incident.acknowledged_by_id == alice.pk
    assert second.incident.acknowledged_at == T0
    assert IncidentEvent.objects.filter(kind="acknowledged").count() == 1


def test_policy_repeats_then_stops(clock, channel) -> None:
    alice = engineer_with_ladder("Alice", "+14155550001")
    policy = policy_with_steps([alice], delay_minutes=10, repeat=2)
    incident = fire(ServiceFactory(escalation_policy=policy))
    for _ in range(6):
        tick()
        clock.shift(timedelta(minutes=10))
    sms = [s for s in channel.sent if s.kind == "sms"]
    assert [s.at for s in sms] == [T0, T0 + timedelta(minutes=10), T0 + timedelta(minutes=20)]
    incident.refresh_from_db()
    assert incident.next_due_at is None
    assert incident.events.filter(kind="escalation_exhausted").count() == 1


def test_ack_timeout_returns_to_triggered_and_escalates_again(clock, channel) -> None:
    alice = engineer_with_ladder("Alice", "+14155550001")
    service = ServiceFactory(
        escalation_policy=policy_with_steps([alice], delay_minutes=30), ack_timeout_minutes=20
    )
    incident = fire(service)
    tick()
    incident_acknowledge(incident_id=incident.pk, engineer_id=alice.pk)
    clock.shift(timedelta(minutes=19))
    tick()
    assert len(channel.sent) == 1
    clock.shift(timedelta(minutes=1))
    tick()
    incident.refresh_from_db()
    assert incident.status == "triggered"
    assert [s.at for s in channel.sent] == [T0, T0 + timedelta(minutes=20)]
    assert incident.events.filter(kind="ack_timeout").count() == 1
    assert (incident.acknowledged_at, incident.first_acknowledged_at) == (None, T0)
    clock.shift(timedelta(minutes=1))
    incident_acknowledge(incident_id=incident.pk, engineer_id=alice.pk)
    incident.refresh_from_db()
    assert incident.acknowledged_at == T0 + timedelta(minutes=21)
    assert incident.first_acknowledged_at == T0


def test_resolve_stops_everything(clock, channel) -> None:
    alice = engineer_with_ladder("Alice", "+14155550001")
    incident = fire(ServiceFactory(escalation_policy=policy_with_steps([alice], [alice])))
    tick()
    incident_resolve(incident_id=incident.pk, engineer_id=alice.pk)
    clock.shift(timedelta(hours=1))
    tick()
    assert len(channel.sent) == 1
    assert not Message.objects.filter(status="pending").exists()


def test_team_round_robin_and_all_members(clock, channel) -> None:
    team = TeamFactory()
    people = [engineer_with_ladder(f"P{i}", f"+1415555010{i}") for i in range(3)]
    for person in people:
        MembershipFactory(team=team, engineer=person)
    policy = EscalationPolicyFactory()
    step = EscalationStepFactory(policy=policy, position=0)
    EscalationTargetFactory(step=step, kind="team_round_robin", team=team, engineer=None)
    service = ServiceFactory(escalation_policy=policy)
    for n in range(4):
        fire(service, key=f"k{n}")
    tick()
    by_incident = sorted(channel.sent, key=lambda s: s.incident_id or 0)
    assert [s.destination[-1] for s in by_incident] == ["0", "1", "2", "0"]

    channel.sent.clear()
    policy2 = EscalationPolicyFactory()
    step2 = EscalationStepFactory(policy=policy2, position=0)
    EscalationTargetFactory(step=step2, kind="team_all", team=team, engineer=None)
    fire(ServiceFactory(escalation_policy=policy2))
    tick()
    assert sorted(s.destination for s in channel.sent) == [
        p.contact_methods.first().value for p in people
    ]


def test_schedule_target_pages_whoever_is_on_call(clock, channel, monkeypatch) -> None:
    from schedules.models import Schedule

    alice = engineer_with_ladder("Alice", "+14155550001")
    team = TeamFactory()
    schedule = Schedule.objects.create(team=team, name="primary")
    asked = []

    def fake_oncall(*, schedule_id: int, at: datetime) -> list[int]:
        asked.append((schedule_id, at))
        return [alice.pk]

    monkeypatch.setattr("schedules.selectors.oncall_engineer_ids", fake_oncall)
    policy = EscalationPolicyFactory()
    step = EscalationStepFactory(policy=policy, position=0)
    EscalationTargetFactory(step=step, kind="schedule", schedule=schedule, engineer=None)
    fire(ServiceFactory(escalation_policy=policy))
    tick()
    assert asked == [(schedule.pk, T0)]
    assert [s.destination for s in channel.sent] == ["+14155550001"]


def test_empty_step_is_skipped_at_once(clock, channel, monkeypatch) -> None:
    from schedules.models import Schedule

    bob = engineer_with_ladder("Bob", "+14155550002")
    schedule = Schedule.objects.create(team=TeamFactory(), name="gap")
    monkeypatch.setattr("schedules.selectors.oncall_engineer_ids", lambda **kw: [])
    policy = EscalationPolicyFactory()
    step = EscalationStepFactory(policy=policy, position=0)
    EscalationTargetFactory(step=step, kind="schedule", schedule=schedule, engineer=None)
    step2 = EscalationStepFactory(policy=policy, position=1)
    EscalationTargetFactory(step=step2, kind="engineer", engineer=bob)
    incident = fire(ServiceFactory(escalation_policy=policy))
    tick()
    assert [s.destination for s in channel.sent] == ["+14155550002"]
    texts = list(incident.events.filter(kind="escalation_step").values_list("text", flat=True))
    assert "nobody on call" in texts[0]


def test_permanent_failure_falls_back_to_next_rule(clock, channel) -> None:
    alice = EngineerFactory(display_name="Alice")
    sms = ContactMethodFactory(engineer=alice, kind="sms", value="+14155550001")
    email = ContactMethodFactory(engineer=alice, kind="email", value="alice@example.test")
    NotificationRuleFactory(engineer=alice, contact_method=sms, delay_minutes=0)
    NotificationRuleFactory(engineer=alice, contact_method=email, delay_minutes=10)
    channel.fail["+14155550001"] = True
    incident = fire(ServiceFactory(escalation_policy=policy_with_steps([alice])))
    tick()  # sms fails permanently, email brought forward
    tick()
    assert [s.destination for s in channel.sent] == ["alice@example.test"]
    assert channel.sent[0].at == T0
    sms.refresh_from_db()
    assert sms.last_error == "provider said no"
    assert incident.events.filter(kind="notification_failed").count() == 1

    # Nobody left: the timeline says so.
    channel.fail["alice@example.test"] = True
    incident2 = fire(ServiceFactory(escalation_policy=policy_with_steps([alice])), key="k2")
    tick()
    tick()
    assert incident2.events.filter(kind="no_contact").exists()


def test_only_pageable_methods_and_fallback_without_rules(clock, channel) -> None:
    alice = EngineerFactory(display_name="Alice")
    unverified = ContactMethodFactory(engineer=alice, kind="sms", verified_at=None)
    NotificationRuleFactory(engineer=alice, contact_method=unverified)
    ContactMethodFactory(engineer=alice, kind="email", value="a@example.test")
    incident = fire(ServiceFactory(escalation_policy=policy_with_steps([alice])))
    tick()
    # The only rule uses an unverified number: fall back to a pageable method at once.
    assert [s.destination for s in channel.sent] == ["a@example.test"]
    assert "no rule" in incident.events.get(kind="notification_queued").text


def test_low_urgency_uses_low_rules(clock, channel) -> None:
    alice = EngineerFactory(display_name="Alice")
    email = ContactMethodFactory(engineer=alice, kind="email", value="a@example.test")
    sms = ContactMethodFactory(engineer=alice, kind="sms", value="+14155550001")
    NotificationRuleFactory(engineer=alice, contact_method=sms, urgency="high")
    NotificationRuleFactory(engineer=alice, contact_method=email, urgency="low")
    fire(ServiceFactory(escalation_policy=policy_with_steps([alice])), severity="warning")
    tick()
    assert [s.kind for s in channel.sent] == ["email"]


def test_sms_throttle_bundles_the_excess(clock, channel) -> None:
    alice = EngineerFactory(display_name="Alice")
    sms = ContactMethodFactory(engineer=alice, kind="sms", value="+14155550001")
    NotificationRuleFactory(engineer=alice, contact_method=sms)
    service = ServiceFactory(name="payments", escalation_policy=policy_with_steps([alice]))
    for n in range(8):
        fire(service, key=f"k{n}")
    tick()
    assert len(channel.sent) == 4 + 1  # four pages and one bundle of the other four
    bundle = channel.sent[-1]
    assert bundle.subject == "4 open incidents for payments"
    assert Message.objects.filter(status="bundled").count() == 4

    # The limit is used up: the next page waits until a slot frees, then goes out.
    clock.shift(timedelta(minutes=1))
    fire(service, key="late")
    tick()
    assert len(channel.sent) == 5
    assert Incident.objects.get(dedup_key="late").events.filter(kind="notification_throttled")
    clock.shift(timedelta(minutes=14))
    tick()
    assert len(channel.sent) == 6
    assert channel.sent[-1].at == T0 + timedelta(minutes=15)


def test_maintenance_pages_nobody(clock, channel) -> None:
    from tests.paging.factories import MaintenanceWindowFactory

    alice = engineer_with_ladder("Alice", "+14155550001")
    service = ServiceFactory(escalation_policy=policy_with_steps([alice]))
    MaintenanceWindowFactory(service=service)
    fire(service)
    tick()
    assert channel.sent == []
    assert not Message.objects.exists()


def test_no_policy_is_on_the_timeline(clock, channel) -> None:
    incident = fire(ServiceFactory())
    tick()
    assert incident.events.filter(kind="no_contact", text="no escalation policy").exists()
    assert not ContactMethod.objects.exists()


def test_a_kick_already_covered_by_a_newer_tick_is_dropped(clock, channel) -> None:
    from paging.models import EngineHeartbeat
    from paging.tasks import engine_tick

    alice = engineer_with_ladder("Alice", "+14155550001")
    service = ServiceFactory(escalation_policy=policy_with_steps([alice]))
    fire(service)
    assert engine_tick(T0.timestamp()) > 0  # no tick yet: the kick runs one
    clock.shift(timedelta(seconds=10))
    fire(service, key="k2")
    assert engine_tick((T0 + timedelta(seconds=10)).timestamp()) > 0  # newer than the last tick
    assert len(channel.sent) == 2
    last = EngineHeartbeat.objects.get().last_tick_at
    clock.shift(timedelta(seconds=1))
    # A late kick sent at +5 s: the tick that started at +10 s already saw its commit.
    assert engine_tick((T0 + timedelta(seconds=5)).timestamp()) == 0
    assert EngineHeartbeat.objects.get().last_tick_at == last  # no tick ran


def test_dispatch_drains_more_than_one_batch_per_tick(clock, channel, monkeypatch) -> None:
    monkeypatch.setattr("paging.dispatch.INLINE_BATCH", 2)
    alice = EngineerFactory()
    email = ContactMethodFactory(engineer=alice, kind="email", value="a@example.test")
    NotificationRuleFactory(engineer=alice, contact_method=email)
    service = ServiceFactory(escalation_policy=policy_with_steps([alice]))
    for n in range(5):
        fire(service, key=f"k{n}")
    tick()
    assert len(channel.sent) == 5


def test_transient_failure_retries_with_backoff_until_ack(clock, channel) -> None:
    alice = EngineerFactory(display_name="Alice")
    email = ContactMethodFactory(engineer=alice, kind="email", value="a@example.test")
    NotificationRuleFactory(engineer=alice, contact_method=email)
    channel.fail["a@example.test"] = False  # transient
    incident = fire(ServiceFactory(escalation_policy=policy_with_steps([alice])))
    tick()
    message = Message.objects.get()
    assert (message.status, message.attempts) == ("pending", 1)
    assert message.due_at == T0 + timedelta(seconds=10)
    assert "will retry" in incident.events.get(kind="notification_failed").text
    del channel.fail["a@example.test"]
    clock.shift(timedelta(seconds=10))
    tick()
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)
    assert [s.at for s in channel.sent] == [T0 + timedelta(seconds=10)]


def test_pending_retry_is_cancelled_by_ack(clock, channel) -> None:
    alice = EngineerFactory(display_name="Alice")
    email = ContactMethodFactory(engineer=alice, kind="email", value="a@example.test")
    NotificationRuleFactory(engineer=alice, contact_method=email)
    channel.fail["a@example.test"] = False
    incident = fire(ServiceFactory(escalation_policy=policy_with_steps([alice])))
    tick()
    incident_acknowledge(incident_id=incident.pk, engineer_id=alice.pk)
    del channel.fail["a@example.test"]
    clock.shift(timedelta(minutes=5))
    tick()
    assert channel.sent == []
    assert Message.objects.get().status == "cancelled"


def test_low_urgency_waits_for_business_hours_of_the_responder(clock, channel) -> None:
    # T0 is Monday 03:00 UTC = 04:00 in Berlin: the e-mail waits until 08:00 Berlin.
    alice = EngineerFactory(display_name="Alice", time_zone="Europe/Berlin")
    email = ContactMethodFactory(engineer=alice, kind="email", value="a@example.test")
    NotificationRuleFactory(engineer=alice, contact_method=email, urgency="low")
    bob = EngineerFactory(display_name="Bob", time_zone="Europe/Berlin")
    email_b = ContactMethodFactory(engineer=bob, kind="email", value="b@example.test")
    NotificationRuleFactory(engineer=bob, contact_method=email_b, urgency="low")
    service = ServiceFactory(
        escalation_policy=policy_with_steps([alice], [bob], delay_minutes=10),
        low_urgency_business_hours_only=True,
    )
    incident = fire(service, severity="warning")
    tick()
    assert channel.sent == []
    assert "held until business hours" in incident.events.get(kind="notification_queued").text
    incident.refresh_from_db()
    opening = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # 08:00 CET
    assert incident.next_due_at == opening + timedelta(minutes=10)  # step 2 waits too
    clock.move_to(opening)
    tick()
    assert [(s.destination, s.at) for s in channel.sent] == [("a@example.test", opening)]


def test_high_urgency_is_never_held(clock, channel) -> None:
    alice = EngineerFactory(display_name="Alice", time_zone="Europe/Berlin")
    email = ContactMethodFactory(engineer=alice, kind="email", value="a@example.test")
    NotificationRuleFactory(engineer=alice, contact_method=email, urgency="high")
    service = ServiceFactory(
        escalation_policy=policy_with_steps([alice]), low_urgency_business_hours_only=True
    )
    fire(service, severity="critical")
    tick()
    assert [(s.destination, s.at) for s in channel.sent] == [("a@example.test", T0)]


def test_business_hours_start() -> None:
    from paging.notify import business_hours_start

    friday_evening = datetime(2026, 3, 6, 18, 30, tzinfo=UTC)  # 19:30 Berlin
    assert business_hours_start(friday_evening, "Europe/Berlin") == datetime(
        2026, 3, 9, 7, 0, tzinfo=UTC
    )
    tuesday_noon = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    assert business_hours_start(tuesday_noon, "America/New_York") == datetime(
        2026, 3, 3, 13, 0, tzinfo=UTC
    )
    assert business_hours_start(tuesday_noon, "Europe/Berlin") == tuesday_noon


def test_rate_limit_waits_retry_after_and_does_not_use_up_attempts(clock, channel) -> None:
    alice = EngineerFactory(display_name="Alice")
    email = ContactMethodFactory(engineer=alice, kind="email", value="a@example.test")
    NotificationRuleFactory(engineer=alice, contact_method=email)
    channel.errors["a@example.test"] = TransportError("slow down", retry_after=90)
    fire(ServiceFactory(escalation_policy=policy_with_steps([alice])))
    tick()
    message = Message.objects.get()
    # Backoff alone would be 10 s; the provider asked for 90.
    assert (message.status, message.due_at) == ("pending", T0 + timedelta(seconds=90))
    # More rate limits than MAX_ATTEMPTS: still pending, never given up.
    for _ in range(MAX_ATTEMPTS + 2):
        clock.move_to(Message.objects.get().due_at)
        tick()
    message.refresh_from_db()
    assert message.status == "pending"
    assert (message.attempts, message.rate_limited) == (MAX_ATTEMPTS + 3, MAX_ATTEMPTS + 3)
    del channel.errors["a@example.test"]
    clock.move_to(message.due_at)
    tick()
    message.refresh_from_db()
    assert message.status == "sent" and [s.destination for s in channel.sent] == ["a@example.test"]


def test_transient_errors_still_give_up_after_max_attempts(clock, channel) -> None:
    alice = EngineerFactory(display_name="Alice")
    email = ContactMethodFactory(engineer=alice, kind="email", value="a@example.test")
    NotificationRuleFactory(engineer=alice, contact_method=email)
    channel.fail["a@example.test"] = False
    fire(ServiceFactory(escalation_policy=policy_with_steps([alice])))
    for _ in range(MAX_ATTEMPTS):
        tick()
        clock.move_to(Message.objects.get().due_at)
    message = Message.objects.get()
    assert (message.status, message.attempts) == ("failed", MAX_ATTEMPTS)


def test_permanent_error_with_disable_reason_disables_the_method(clock, channel) -> None:
    alice = EngineerFactory(display_name="Alice")
    sms = ContactMethodFactory(engineer=alice, kind="sms", value="+14155550001")
    email = ContactMethodFactory(engineer=alice, kind="email", value="a@example.test")
    NotificationRuleFactory(engineer=alice, contact_method=sms, delay_minutes=0)
    NotificationRuleFactory(engineer=alice, contact_method=email, delay_minutes=10)
    channel.errors["+14155550001"] = TransportError(
        "bad number", permanent=True, disable_reason="invalid phone number"
    )
    fire(ServiceFactory(escalation_policy=policy_with_steps([alice])))
    tick()
    tick()
    sms.refresh_from_db()
    assert sms.disabled_at == T0
    assert (sms.disabled_reason, sms.last_error) == ("invalid phone number", "bad number")
    assert not sms.is_pageable
    assert [s.destination for s in channel.sent] == ["a@example.test"]


def test_permanent_error_without_disable_reason_keeps_the_method(clock, channel) -> None:
    alice = EngineerFactory(display_name="Alice")
    sms = ContactMethodFactory(engineer=alice, kind="sms", value="+14155550001")
    NotificationRuleFactory(engineer=alice, contact_method=sms)
    channel.errors["+14155550001"] = TransportError("bad credentials", permanent=True)
    fire(ServiceFactory(escalation_policy=policy_with_steps([alice])))
    tick()
    sms.refresh_from_db()
    assert sms.disabled_at is None and sms.last_error == "bad credentials"


def test_disable_reason_applies_to_messages_outside_incidents(clock, channel) -> None:
    alice = EngineerFactory(display_name="Alice")
    sms = ContactMethodFactory(engineer=alice, kind="sms", value="+14155550001", verified_at=None)
    channel.errors["+14155550001"] = TransportError(
        "STOP", permanent=True, disable_reason="unsubscribed"
    )
    with transaction.atomic():
        message_enqueue(
            idempotency_key="verify:1",
            purpose=Message.Purpose.VERIFICATION,
            kind="sms",
            destination="+14155550001",
            body="code 123456",
            engineer_id=alice.pk,
            contact_method_id=sms.pk,
        )
    tick()
    sms.refresh_from_db()
    assert (sms.disabled_at, sms.disabled_reason) == (T0, "unsubscribed")


def test_message_enqueue_ties_a_page_to_its_incident_step_and_loop(clock, channel) -> None:
    incident = fire(ServiceFactory())
    with transaction.atomic():
        message = message_enqueue(
            idempotency_key="page:x",
            purpose=Message.Purpose.PAGE,
            kind="slack_channel",
            destination="C0OPS",
            body="DB down",
            incident_id=incident.pk,
            escalation_step=3,
            escalation_loop=2,
        )
    message.refresh_from_db()
    assert (message.incident_id, message.escalation_step, message.escalation_loop) == (
        incident.pk,
        3,
        2,
    )
    # Tied to the incident: an ack cancels it like any page.
    incident_acknowledge(incident_id=incident.pk, engineer_id=EngineerFactory().pk)
    tick()
    assert channel.sent == [] and Message.objects.get().status == "cancelled"


def test_channel_only_step_keeps_the_engineers_assigned(clock, channel) -> None:
    alice = engineer_with_ladder("Alice", "+14155550001")
    bob = engineer_with_ladder("Bob", "+14155550002")
    policy = policy_with_steps([alice], delay_minutes=10)
    step2 = EscalationStepFactory(policy=policy, position=1, delay_minutes=10)
    EscalationTargetFactory(step=step2, kind="slack_channel", address="C0OPS")
    step3 = EscalationStepFactory(policy=policy, position=2, delay_minutes=10)
    EscalationTargetFactory(step=step3, kind="engineer", engineer=bob)
    incident = fire(ServiceFactory(escalation_policy=policy))
    tick()
    assert list(incident.assigned_to.values_list("pk", flat=True)) == [alice.pk]
    clock.shift(timedelta(minutes=10))
    tick()
    assert "C0OPS" in [s.destination for s in channel.sent]
    assert list(incident.assigned_to.values_list("pk", flat=True)) == [alice.pk]
    clock.shift(timedelta(minutes=10))
    tick()
    # A step with people replaces the assignees as before.
    assert list(incident.assigned_to.values_list("pk", flat=True)) == [bob.pk]


def test_message_fallback_brings_the_next_rule_forward_while_triggered(clock, channel) -> None:
    alice = engineer_with_ladder("Alice", "+14155550001")
    incident = fire(ServiceFactory(escalation_policy=policy_with_steps([alice])))
    tick()
    sms = Message.objects.get(kind="sms")
    voice = Message.objects.get(kind="voice")
    assert voice.due_at == T0 + timedelta(minutes=5)
    clock.shift(timedelta(minutes=1))
    assert message_fallback(message_id=sms.pk, error="undelivered") == 1
    voice.refresh_from_db()
    assert voice.due_at == T0 + timedelta(minutes=1)
    tick()
    assert [s.kind for s in channel.sent] == ["sms", "voice"]
    # Nothing pending any more: the timeline says nobody is left.
    assert message_fallback(message_id=voice.pk, error="not reached: busy") == 1
    assert incident.events.filter(kind="no_contact").count() == 1
    # Acknowledged: nothing happens.
    incident_acknowledge(incident_id=incident.pk, engineer_id=alice.pk)
    assert message_fallback(message_id=voice.pk, error="not reached: busy") == 0
    assert incident.events.filter(kind="no_contact").count() == 1


def test_message_fallback_ignores_channel_pages(clock, channel) -> None:
    incident = fire(ServiceFactory())
    with transaction.atomic():
        post = message_enqueue(
            idempotency_key="slack-channel:x",
            purpose=Message.Purpose.PAGE,
            kind="slack_channel",
            destination="C0OPS",
            body="DB down",
            incident_id=incident.pk,
        )
    assert message_fallback(message_id=post.pk, error="failed") == 0
    assert not incident.events.filter(kind="no_contact").exists()
