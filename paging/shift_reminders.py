"""Shift reminders: "You are on call for Payments from 09:00 Monday", ahead of a shift.

A tick step. At most once per ``SHIFT_REMINDER_SCAN_SECONDS`` (default 60) it resolves
every schedule over the next ``SHIFT_REMINDER_MINUTES`` (default 60; 0 turns reminders
off) and enqueues one reminder per shift starting in that window, to the engineer's
first pageable contact method. The outbox idempotency key
``reminder:<schedule>:<engineer>:<shift start>`` makes it once per (shift, engineer),
however many workers scan; a shift added late still gets its reminder if it has not
started yet.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from oncall.people.models import Engineer
from oncall.people.selectors import first_pageable_method
from paging.channels.rendering import TemplateSet
from paging.kick import kick_engine
from paging.models import Message
from paging.outbox import message_enqueue
from schedules.models import Schedule
from schedules.resolver import ScheduleDefinition, Shift, resolve
from schedules.selectors import schedule_definition

TEMPLATES = TemplateSet(Path(__file__).parent)

# How far ahead to look for the end of a shift whose reminder is written.
SHIFT_END_HORIZON = timedelta(days=35)

_scan_lock = threading.Lock()
_last_scan: datetime | None = None


def reminder_lead() -> timedelta:
    return timedelta(minutes=settings.SHIFT_REMINDER_MINUTES)


def reminder_scan_every() -> timedelta:
    return timedelta(seconds=settings.SHIFT_REMINDER_SCAN_SECONDS)


def shift_reminders_enqueue() -> int:
    """The tick step: scan now and then (cheap no-op in between)."""
    global _last_scan
    if reminder_lead() <= timedelta(0):
        return 0
    now = timezone.now()
    with _scan_lock:
        # A clock that went backwards (tests, NTP) also rescans.
        if _last_scan is not None and _last_scan <= now < _last_scan + reminder_scan_every():
            return 0
        _last_scan = now
    return reminders_due_enqueue(now=now)


def reminder_key(*, schedule_id: int, shift: Shift) -> str:
    return f"reminder:{schedule_id}:{shift.engineer_id}:{int(shift.start.timestamp())}"


def local_time_text(instant: datetime, time_zone: str, now: datetime) -> str:
    """ "09:00 Monday" within a week, with the date further out; in the person's zone."""
    tz = ZoneInfo(time_zone)
    local = instant.astimezone(tz)
    text = f"{local:%H:%M} {local:%A}"
    if instant - now > timedelta(days=6):
        text += f" {local.day} {local:%B}"
    return f"{text} ({time_zone})" if time_zone != "UTC" else f"{text} (UTC)"


def reminders_due_enqueue(*, now: datetime) -> int:
    """Enqueue reminders for every shift starting in (now, now + lead]; returns how many."""
    end = now + reminder_lead()
    created = 0
    for schedule in Schedule.objects.only("id", "name"):
        definition = schedule_definition(schedule.id)
        # Shifts are clipped to the range: one that started before ``now`` shows
        # ``start == now`` and is skipped.
        shifts = [
            s
            for s in resolve(definition, now, end + timedelta(microseconds=1))
            if now < s.start <= end
        ]
        if shifts:
            created += _enqueue_for_schedule(schedule, definition, shifts, now)
    if created:
        kick_engine()
    return created


def _full_shift(definition: ScheduleDefinition, shift: Shift) -> Shift:
    """The shift with its real end (the scan clipped it to the look-ahead window)."""
    ahead = resolve(definition, shift.start, shift.start + SHIFT_END_HORIZON)
    return ahead[0] if ahead and ahead[0].engineer_id == shift.engineer_id else shift


def _enqueue_for_schedule(
    schedule: Schedule, definition: ScheduleDefinition, shifts: list[Shift], now: datetime
) -> int:
    created = 0
    keys = {reminder_key(schedule_id=schedule.id, shift=s): s for s in shifts}
    done = set(
        Message.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True)
    )
    zones = dict(
        Engineer.objects.filter(pk__in={s.engineer_id for s in shifts}).values_list(
            "id", "time_zone"
        )
    )
    with transaction.atomic():
        for key, clipped in keys.items():
            if key in done:
                continue
            method = first_pageable_method(clipped.engineer_id)
            if method is None:
                continue
            shift = _full_shift(definition, clipped)
            zone = zones.get(shift.engineer_id, "UTC")
            context = {
                "schedule": schedule.name,
                "start": local_time_text(shift.start, zone, now),
                "end": local_time_text(shift.end, zone, now),
            }
            message_enqueue(
                idempotency_key=key,
                purpose=Message.Purpose.REMINDER,
                kind=method.kind,
                destination=method.value,
                subject=TEMPLATES.text(
                    "delivery/reminders/shift_subject.txt", context, one_line=True
                ),
                body=TEMPLATES.text("delivery/reminders/shift_body.txt", context, one_line=True),
                engineer_id=shift.engineer_id,
                contact_method_id=method.pk,
            )
            created += 1
    return created
