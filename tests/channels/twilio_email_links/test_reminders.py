"""Shift reminders: once per (shift, engineer), the configured time before the shift."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from paging import shift_reminders as reminders
from paging.engine import tick
from paging.models import Message
from paging.shift_reminders import shift_reminders_enqueue
from schedules import services
from tests.factories import ContactMethodFactory, EngineerFactory, TeamFactory

pytestmark = pytest.mark.django_db

# Monday 2026-01-05 09:00 Europe/Berlin = 08:00 UTC: the first handoff.
HANDOFF = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


@pytest.fixture
def rota(settings):
    settings.SHIFT_REMINDER_MINUTES = 60
    settings.SHIFT_REMINDER_SCAN_SECONDS = 0  # scan on every tick
    alice = EngineerFactory(display_name="Alice", time_zone="Europe/Berlin")
    bob = EngineerFactory(display_name="Bob", time_zone="America/New_York")
    # Alice: an unverified number first (not pageable), then her e-mail.
    ContactMethodFactory(engineer=alice, kind="sms", value="+15551230001", verified_at=None)
    ContactMethodFactory(engineer=alice, kind="email", value="alice@example.test")
    ContactMethodFactory(engineer=bob, kind="sms", value="+15551230002")
    with time_machine.travel(HANDOFF - timedelta(days=3), tick=False):
        schedule = services.schedule_create(
            team=TeamFactory(), name="Payments", time_zone="Europe/Berlin"
        )
        services.layer_create(
            schedule=schedule,
            name="Weekly",
            start_date=date(2026, 1, 5),
            members=[alice, bob],
            shift_unit="weeks",
        )
    return schedule, alice, bob


def reminders_sent() -> list[Message]:
    return list(Message.objects.filter(purpose=Message.Purpose.REMINDER).order_by("id"))


def test_reminder_once_at_the_right_time(rota) -> None:
    _schedule, alice, _bob = rota
    with time_machine.travel(HANDOFF - timedelta(minutes=61), tick=False) as clock:
        tick()
        assert reminders_sent() == []
        clock.move_to(HANDOFF - timedelta(minutes=60))
        tick()
        (message,) = reminders_sent()
        assert message.engineer_id == alice.pk
        assert (message.kind, message.destination) == ("email", "alice@example.test")
        assert message.body == (
            "You are on call for Payments from 09:00 Monday (Europe/Berlin) "
            "until 09:00 Monday 12 January (Europe/Berlin)."
        )
        assert message.subject == "On call for Payments from 09:00 Monday (Europe/Berlin)"
        # Sent by the same tick (console here), and never again.
        assert message.status == Message.Status.SENT
        for minutes in (59, 30, 1):
            clock.move_to(HANDOFF - timedelta(minutes=minutes))
            tick()
        clock.move_to(HANDOFF + timedelta(minutes=5))
        tick()
        assert len(reminders_sent()) == 1


def test_next_shift_reminds_the_next_engineer_in_their_zone(rota) -> None:
    _schedule, _alice, bob = rota
    with time_machine.travel(HANDOFF + timedelta(days=7, minutes=-30), tick=False):
        tick()
    (message,) = reminders_sent()
    assert message.engineer_id == bob.pk and message.destination == "+15551230002"
    assert message.body.startswith(
        "You are on call for Payments from 03:00 Monday (America/New_York)"
    )


def test_reminders_go_out_through_the_real_channels(rota, fake_smtp) -> None:
    with time_machine.travel(HANDOFF - timedelta(minutes=45), tick=False):
        tick()
    (mail,) = fake_smtp.take()
    assert mail.rcpt_to == ["alice@example.test"]
    assert mail.message["Subject"] == "On call for Payments from 09:00 Monday (Europe/Berlin)"
    assert "You are on call for Payments from 09:00 Monday" in mail.part("text/plain")


def test_lead_time_is_configurable_and_zero_turns_it_off(rota, settings) -> None:
    settings.SHIFT_REMINDER_MINUTES = 0
    with time_machine.travel(HANDOFF - timedelta(minutes=10), tick=False):
        tick()
    assert reminders_sent() == []
    settings.SHIFT_REMINDER_MINUTES = 180
    with time_machine.travel(HANDOFF - timedelta(minutes=170), tick=False):
        tick()
    assert len(reminders_sent()) == 1


def test_shift_already_started_gets_no_reminder(rota) -> None:
    with time_machine.travel(HANDOFF + timedelta(minutes=1), tick=False):
        tick()
    assert reminders_sent() == []


def test_override_added_late_still_reminded(rota) -> None:
    schedule, _alice, bob = rota
    start = HANDOFF + timedelta(days=2)
    with time_machine.travel(start - timedelta(minutes=20), tick=False):
        services.override_create(
            schedule=schedule, engineer=bob, start=start, end=start + timedelta(hours=4)
        )
        tick()
    (message,) = reminders_sent()
    assert message.engineer_id == bob.pk


def test_scans_are_throttled(rota, settings) -> None:
    settings.SHIFT_REMINDER_SCAN_SECONDS = 60
    reminders._last_scan = None
    calls = []
    real = reminders.reminders_due_enqueue
    with time_machine.travel(HANDOFF - timedelta(hours=5), tick=False) as clock:
        reminders.reminders_due_enqueue = lambda *, now: calls.append(now) or real(now=now)
        try:
            for seconds in (0, 2, 30, 59, 60, 61):
                clock.move_to(HANDOFF - timedelta(hours=5) + timedelta(seconds=seconds))
                shift_reminders_enqueue()
        finally:
            reminders.reminders_due_enqueue = real
    assert len(calls) == 2


def test_no_pageable_method_no_reminder(rota) -> None:
    _schedule, alice, _bob = rota
    alice.contact_methods.all().delete()
    with time_machine.travel(HANDOFF - timedelta(minutes=30), tick=False):
        tick()
    assert reminders_sent() == []
