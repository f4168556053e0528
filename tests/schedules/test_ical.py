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


def _span(engineer, start, end, kind="layer", source=3, reason="rotation: Weekly"):
    return Shift(engineer, start, end, kind, source, reason)


def _events(body: bytes):
    return icalendar.Calendar.from_ical(body).walk("VEVENT")


def test_no_event_ends_at_or_before_its_start_at_whole_seconds():
    """A 0.5 s override and a 5 ms stretch between two layers round to nothing: they are
    dropped, the shift around the override comes back as one event, and every event
    parsed by icalendar has DTEND > DTSTART."""
    t = NOW + timedelta(microseconds=123_000)
    shifts = [
        _span(1, t - timedelta(hours=1), t),  # lower layer for 5 ms after the apply
        _span(1, t, t + timedelta(milliseconds=5), source=4),
        _span(2, t + timedelta(milliseconds=5), t + timedelta(hours=2)),
        _span(9, t + timedelta(hours=2), t + timedelta(hours=2, milliseconds=500), "override", 7),
        _span(2, t + timedelta(hours=2, milliseconds=500), t + timedelta(hours=5)),
    ]
    body = calendar_build(
        name="S", shifts=[(7, "S", s) for s in shifts], names={1: "A", 2: "B"}, now=NOW
    )
    events = _events(body)
    assert all(e.decoded("DTEND") > e.decoded("DTSTART") for e in events)
    spans = [(str(e["SUMMARY"]), e.decoded("DTSTART"), e.decoded("DTEND")) for e in events]
    assert spans == [
        ("On call: A (S)", NOW - timedelta(hours=1), NOW),
        ("On call: B (S)", NOW, NOW + timedelta(hours=5)),
    ]
    # Adjacent at whole seconds too: no gap was opened where the stretches were.
    assert spans[0][2] == spans[1][1]
    assert str(events[1]["UID"]) == shift_uid(7, shifts[2])


def test_each_event_names_the_engineer_as_attendee():
    body = calendar_build(
        name="S",
        shifts=[(7, "S", _shift()), (7, "S", _shift(2, 8)), (7, "S", _shift(3, 16))],
        names={1: 'Zoë "Z" Ødegård, SRE', 2: "Bob", 3: "No Mail"},
        emails={1: "zoe@example.test", 2: "bob@example.test"},
        now=NOW,
    )
    assert b"METHOD:" not in body  # iTIP PUBLISH would forbid ATTENDEE
    zoe, bob, nomail = _events(body)
    assert str(zoe["ATTENDEE"]) == "mailto:zoe@example.test"
    assert zoe["ATTENDEE"].params["CN"] == "Zoë 'Z' Ødegård, SRE"
    assert str(bob["ATTENDEE"]) == "mailto:bob@example.test"
    assert bob["ATTENDEE"].params["CN"] == "Bob"
    assert str(bob["SUMMARY"]) == "On call: Bob (S)"
    assert "ATTENDEE" not in nomail  # no address known: SUMMARY only, never a bad URI
