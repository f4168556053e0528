"""Times people type and read on schedule pages: in a named zone, stored in UTC.

A schedule page reads and shows every datetime in the schedule's zone (time off: the
engineer's zone), and names the zone next to the field. A local time that does not
exist (clocks go forward) or happens twice (clocks go back) is refused with a form
error that says so, rather than guessed: an override typed for 02:30 on the night the
clocks change would otherwise start an hour away from what was meant.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import ValidationError
from django.utils import timezone

DST_RULE = (
    "A time that does not exist (clocks go forward) or happens twice (clocks go back)"
    " is refused: pick a time outside the change."
)


def zone_or_utc(name: str | None) -> str:
    """``name`` if it is a known IANA zone, else "UTC"."""
    if not name:
        return "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name


def zone_label(name: str, at: datetime | None = None) -> str:
    """``Europe/Berlin (CET)``: the IANA name and the abbreviation in force at ``at``."""
    tz = ZoneInfo(name)
    abbreviation = (at or timezone.now()).astimezone(tz).tzname() or ""
    if abbreviation and abbreviation != name:
        return f"{name} ({abbreviation})"
    return name


def local_instant(naive: datetime, zone: str) -> datetime:
    """A wall-clock time typed in ``zone`` -> the UTC instant; ValidationError if that
    local time does not exist or is ambiguous there."""
    tz = ZoneInfo(zone)
    naive = naive.replace(tzinfo=None)
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        shown = naive.strftime("%a %d %b %Y %H:%M")
        back = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
        if back != naive:
            raise ValidationError(
                f"{shown} does not exist in {zone}: the clocks go forward that night."
                " Enter a time after the change.",
                code="nonexistent",
            )
        early = first.astimezone(UTC).astimezone(tz).strftime("%H:%M %Z")
        late = second.astimezone(UTC).astimezone(tz).strftime("%H:%M %Z")
        raise ValidationError(
            f"{shown} happens twice in {zone} (first {early}, then {late}): the clocks go"
            " back that night. Enter a time outside the repeated hour.",
            code="ambiguous",
        )
    return first.astimezone(UTC)


def local_display(instant: datetime | None, zone: str) -> str:
    """``Mon 30 Nov 2026, 18:00 CET`` in ``zone``; an em dash for no time."""
    if instant is None:
        return "—"
    local = instant.astimezone(ZoneInfo(zone))
    return f"{local:%a %d %b %Y, %H:%M} {local.tzname()}"


class ZonedSplitDateTimeField(forms.SplitDateTimeField):
    """Date and time inputs read in ``zone`` (DST changes refused, see ``local_instant``);
    an initial UTC value is shown in ``zone`` too."""

    widget = AdminSplitDateTime

    def __init__(self, *args: Any, zone: str = "UTC", **kwargs: Any) -> None:
        self.zone = zone
        super().__init__(*args, **kwargs)
        if not self.help_text:
            self.help_text = f"in {zone_label(zone)}. {DST_RULE}"

    def prepare_value(self, value: object) -> object:
        if isinstance(value, datetime) and timezone.is_aware(value):
            return value.astimezone(ZoneInfo(self.zone)).replace(tzinfo=None)
        return value

    def has_changed(self, initial: object, data: object) -> bool:
        # The inputs hold local parts; compare instants, not parts in the active zone.
        if self.disabled:
            return False
        try:
            value = self.clean(data)
        except ValidationError:
            return True
        return value != initial

    def compress(self, data_list: Any) -> datetime | None:
        if not data_list:
            return None
        day, clock = data_list
        if day in self.empty_values or clock in self.empty_values:
            raise ValidationError(self.error_messages["incomplete"], code="incomplete")
        return local_instant(datetime.combine(day, clock), self.zone)


def round_up_minute(instant: datetime) -> datetime:
    """The next whole minute at or after ``instant`` (forms take minutes)."""
    floor = instant.replace(second=0, microsecond=0)
    return floor if floor == instant else floor + timedelta(minutes=1)
