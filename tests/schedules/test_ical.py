"""The RFC 5545 writer: folding, escaping, CRLF, UTC, stable UIDs; parsed by icalendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar

from schedules.ical import calendar_build, shift_uid
from schedules.resolver import Shift

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _shift(engineer=1, hours=0, reason="rotation: Weekly"):
    start = NOW + timedelta(hours=hours)
    return Shift(engineer, start, start + timedelta(hours=8), "layer", 3, reason)


def test_output_is_valid_and_round_trips_awkward_text():
    # icalendar reads NAME as an unknown property (no unescaping): keep , ; \ out of it.
    name = "Ünïcødé Team nights and weekends " * 3
    reason = "substituting for Zoë, the one; with a very long reason that must be folded " * 2
    body = calendar_build(
        name=name,
        shifts=[(7, "Prod, EU", _shift(reason=reason)), (7, "Prod, EU", _shift(2, 8))],
        names={1: "Zoë Ødegård", 2: "Bob"},
        now=NOW,
    )
    text = body.decode()
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    cal = icalendar.Calendar.from_ical(body)
    assert str(cal["NAME"]) == name
    first, second = cal.walk("VEVENT")
    assert str(first["DESCRIPTION"]) == reason
    assert str(first["SUMMARY"]) == "On call: Zoë Ødegård (Prod, EU)"
    assert first.decoded("DTSTART") == NOW and first.decoded("DTEND") == NOW + timedelta(hours=8)
    assert first.decoded("DTSTAMP") == NOW
    assert str(second["SUMMARY"]) == "On call: Bob (Prod, EU)"


def test_uid_depends_on_the_shift_identity_only():
    a = shift_uid(7, _shift())
    assert a == shift_uid(7, _shift(reason="other text"))
    assert a != shift_uid(8, _shift())
    assert a != shift_uid(7, _shift(engineer=2))
    assert a != shift_uid(7, _shift(hours=1))
