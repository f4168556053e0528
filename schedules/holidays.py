"""Holiday calendars: import dates from an iCal file or URL (with ``icalendar``), and
change the current set without rewriting the past (removal sets ``removed_at``)."""

from __future__ import annotations

import urllib.request
from datetime import date, datetime, timedelta
from urllib.parse import urlparse

import icalendar
from dateutil.rrule import rrule, rrulestr
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from oncall.api.params import MAX_YEAR, MIN_YEAR
from oncall.audit.services import audit_record
from schedules.models import Holiday, HolidayCalendar

MAX_ICAL_BYTES = 2 * 1024 * 1024
FETCH_TIMEOUT_SECONDS = 10
# Recurring holidays (RRULE) are expanded this many years around today.
RECURRENCE_YEARS_BACK = 1
RECURRENCE_YEARS_AHEAD = 5


# Dates within the shared year bounds (near date.min/max, DTEND defaults and RRULE
# expansion would overflow) and events no longer than a year: anything else is not a
# holiday but bad input.
MAX_EVENT_DAYS = 366
# Finer frequencies would make dateutil step through millions of instants per rule.
RRULE_FREQUENCIES = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY")


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _file_error(number: int, problem: str) -> ValidationError:
    return ValidationError({"file": f"event {number}: {problem}"})


def _event_day(event: icalendar.Component, name: str, number: int) -> date:
    """DTSTART/DTEND as a date; icalendar keeps an unparsable value as a plain string."""
    value = event.decoded(name)
    if not isinstance(value, date):  # datetime is a date too
        raise _file_error(number, f"{name} {str(value)[:40]!r} is not a date or date-time")
    day = _as_date(value)
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise _file_error(number, f"{name} year must be between {MIN_YEAR} and {MAX_YEAR}")
    return day


def _event_rules(event: icalendar.Component, start: date, number: int) -> list[rrule]:
    props = event["RRULE"]
    rules = []
    for prop in props if isinstance(props, list) else [props]:
        if not isinstance(prop, icalendar.vRecur):
            raw = prop.to_ical()
            text = raw.decode() if isinstance(raw, bytes) else str(raw)
            raise _file_error(number, f"RRULE is not valid: {text[:60]!r}")
        freq = (prop.get("FREQ") or [""])[0]
        if freq not in RRULE_FREQUENCIES:
            raise _file_error(number, f"RRULE FREQ must be one of {', '.join(RRULE_FREQUENCIES)}")
        if any(int(n) < 1 for n in prop.get("INTERVAL", [])):
            raise _file_error(number, "RRULE INTERVAL must be at least 1")
        try:
            rule = rrulestr(
                prop.to_ical().decode(), dtstart=datetime.combine(start, datetime.min.time())
            )
        except (ValueError, TypeError) as exc:
            raise _file_error(number, f"RRULE is not valid: {exc}") from None
        rules.append(rule)
    return rules


def ical_holidays(data: bytes) -> dict[date, str]:
    """Every day covered by a VEVENT (DTEND exclusive; RRULEs expanded), with its summary."""
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except ValueError as exc:
        raise ValidationError({"file": f"is not a valid iCalendar file: {exc}"}) from None
    today = timezone.now().date()
    lo = today.replace(year=today.year - RECURRENCE_YEARS_BACK, month=1, day=1)
    hi = today.replace(year=today.year + RECURRENCE_YEARS_AHEAD, month=12, day=31)
    days: dict[date, str] = {}
    for number, event in enumerate(calendar.walk("VEVENT"), start=1):
        if "DTSTART" not in event:
            continue
        start = _event_day(event, "DTSTART", number)
        end = _event_day(event, "DTEND", number) if "DTEND" in event else start + timedelta(days=1)
        length = max((end - start).days, 1)
        if length > MAX_EVENT_DAYS:
            raise _file_error(number, f"lasts {length} days, more than {MAX_EVENT_DAYS}")
        name = str(event.get("SUMMARY", ""))[:200]
        starts = [start]
        if "RRULE" in event:
            starts = sorted(
                {
                    d.date()
                    for rule in _event_rules(event, start, number)
                    for d in rule.between(
                        datetime.combine(lo, datetime.min.time()),
                        datetime.combine(hi, datetime.min.time()),
                        inc=True,
                    )
                }
            )
        for first in starts:
            for i in range(length):
                days.setdefault(first + timedelta(days=i), name)
    return days


@transaction.atomic
def holidays_set(
    *,
    calendar: HolidayCalendar,
    wanted: dict[date, str],
    replace: bool = True,
    at: datetime | None = None,
) -> tuple[list[date], list[date]]:
    """Make ``wanted`` the calendar's current holidays (or only add to them); returns the
    (added, removed) dates.

    Removing sets ``removed_at`` instead of deleting and adding creates a row from now
    (or ``at``: one instant for a whole config apply), so the resolver keeps every past
    instant's holidays as they were. A changed name is a label only and is updated in place.
    """
    now = at or timezone.now()
    current = {h.date: h for h in Holiday.objects.current().filter(calendar=calendar)}
    removed = sorted(set(current) - set(wanted)) if replace else []
    if removed:
        Holiday.objects.current().filter(calendar=calendar, date__in=removed).update(removed_at=now)
    added = sorted(set(wanted) - set(current))
    Holiday.objects.bulk_create(
        Holiday(calendar=calendar, date=day, name=wanted[day], added_at=now) for day in added
    )
    renamed = [d for d, h in current.items() if d in wanted and h.name != wanted[d]]
    for day in renamed:
        Holiday.objects.filter(pk=current[day].pk).update(name=wanted[day])
    if added or removed or renamed:
        changes = _holiday_changes(current, wanted, [*added, *removed, *renamed], removed)
        audit_record("holidays", calendar, changes=changes)
    return added, removed


def _holiday_changes(
    current: dict[date, Holiday], wanted: dict[date, str], changed: list[date], removed: list[date]
) -> dict[str, tuple[str | None, str | None]]:
    """{"2026-12-25": ("Xmas", "Christmas"), …}: each changed date's name before and after."""
    return {
        d.isoformat(): (
            current[d].name if d in current else None,
            None if d in removed else wanted[d],
        )
        for d in sorted(changed)
    }


@transaction.atomic
def holiday_remove(*, holiday: Holiday) -> None:
    """Take a holiday off its calendar from now on (it stays in effect for the past)."""
    if Holiday.objects.filter(pk=holiday.pk, removed_at__isnull=True).update(
        removed_at=timezone.now()
    ):
        changes = {holiday.date.isoformat(): (holiday.name, None)}
        audit_record("holidays", holiday.calendar, changes=changes)


@transaction.atomic
def holiday_add(*, calendar: HolidayCalendar, day: date, name: str) -> Holiday:
    """Add one holiday from now on (the admin's holiday rows)."""
    holiday = Holiday.objects.create(calendar=calendar, date=day, name=name)
    audit_record("holidays", calendar, changes={day.isoformat(): (None, name)})
    return holiday


@transaction.atomic
def holiday_rename(*, holiday: Holiday, name: str) -> Holiday:
    """Change a holiday's name (a label only: its date and history stay)."""
    old = Holiday.objects.values_list("name", flat=True).get(pk=holiday.pk)
    Holiday.objects.filter(pk=holiday.pk).update(name=name)
    holiday.name = name
    if old != name:
        changes = {holiday.date.isoformat(): (old, name)}
        audit_record("holidays", holiday.calendar, changes=changes)
    return holiday


@transaction.atomic
def holiday_move(*, holiday: Holiday, day: date, name: str) -> Holiday:
    """Move a holiday to another date from now on: the old date is removed (kept for the
    past) and the new one added."""
    holiday_remove(holiday=holiday)
    moved = Holiday.objects.create(calendar_id=holiday.calendar_id, date=day, name=name)
    audit_record("holidays", moved.calendar, changes={day.isoformat(): (None, name)})
    return moved


@transaction.atomic
def holiday_calendar_import_ical(
    *, calendar: HolidayCalendar, data: bytes, replace: bool = False
) -> int:
    """Add the file's holidays to ``calendar`` (or replace them); returns the day count."""
    days = ical_holidays(data)
    if replace:
        holidays_set(calendar=calendar, wanted=days, replace=True)
    else:
        # Adding only: dates already on the calendar keep their row and name.
        current = set(
            Holiday.objects.current().filter(calendar=calendar).values_list("date", flat=True)
        )
        holidays_set(
            calendar=calendar,
            wanted={d: n for d, n in days.items() if d not in current},
            replace=False,
        )
    return len(days)


def ical_fetch(url: str) -> bytes:
    """Download an iCal file (http/https only, size-capped)."""
    if urlparse(url).scheme not in ("http", "https"):
        raise ValidationError({"url": "must be an http or https URL"})
    request = urllib.request.Request(url, headers={"User-Agent": "oncall-holidays/1"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310
            data = response.read(MAX_ICAL_BYTES + 1)
    except OSError as exc:
        raise ValidationError({"url": f"could not be fetched: {exc}"}) from None
    if len(data) > MAX_ICAL_BYTES:
        raise ValidationError({"url": f"is larger than {MAX_ICAL_BYTES} bytes"})
    return data


def holiday_calendar_import_url(
    *, calendar: HolidayCalendar, url: str, replace: bool = True
) -> int:
    """Fetch ``url`` (outside any transaction) and import it; remembers the URL."""
    data = ical_fetch(url)
    with transaction.atomic():
        count = holiday_calendar_import_ical(calendar=calendar, data=data, replace=replace)
        HolidayCalendar.objects.filter(pk=calendar.pk).update(source_url=url)
    calendar.source_url = url
    return count
