"""A short text form for restrictions, used by the admin and the config file.

One window per item, items separated by ``;`` or new lines::

    Mon-Fri 09:00-17:00 business
    Sat-Sun all day
    Mon,Wed 22:00-06:00

Days: Mon Tue Wed Thu Fri Sat Sun, as ranges (``Mon-Fri``, wrapping ``Fri-Mon``) or
comma lists. ``all day`` is 00:00-00:00. A trailing ``business`` marks a
business-hours window (not applied on holidays).
"""

from __future__ import annotations

import re
from datetime import time

from django.core.exceptions import ValidationError

from schedules.services import RestrictionSpec

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_ITEM = re.compile(
    r"^(?P<days>[A-Za-z,\- ]+?)\s+"
    r"(?:(?P<all>all\s+day)|(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2}))"
    r"(?P<business>\s+business)?$",
    re.IGNORECASE,
)


def _day(name: str, item: str) -> int:
    key = name.strip().lower()[:3]
    if key not in DAYS:
        raise ValidationError(f"{item!r}: {name.strip()!r} is not a weekday (Mon … Sun)")
    return DAYS.index(key)


def _days(text: str, item: str) -> list[int]:
    out: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            first, last = (_day(p, item) for p in part.split("-", 1))
            day = first
            out.add(day)
            while day != last:
                day = (day + 1) % 7
                out.add(day)
        else:
            out.add(_day(part, item))
    if not out:
        raise ValidationError(f"{item!r}: no weekdays")
    return sorted(out)


def _time(text: str, item: str) -> time:
    hours, minutes = (int(x) for x in text.split(":"))
    if not (0 <= hours <= 23 and 0 <= minutes <= 59):
        raise ValidationError(f"{item!r}: {text} is not a time of day")
    return time(hours, minutes)


def restrictions_parse(text: str) -> list[RestrictionSpec]:
    """Parse the text form; raises ValidationError naming the bad item."""
    specs = []
    for raw in re.split(r"[;\n]", text or ""):
        item = raw.strip()
        if not item:
            continue
        match = _ITEM.match(item)
        if not match:
            raise ValidationError(
                f"{item!r} is not like 'Mon-Fri 09:00-17:00 [business]' or 'Sat-Sun all day'"
            )
        start = time(0) if match["all"] else _time(match["start"], item)
        end = time(0) if match["all"] else _time(match["end"], item)
        specs.append(
            RestrictionSpec(
                weekdays=_days(match["days"], item),
                start_time=start,
                end_time=end,
                business_hours=bool(match["business"]),
            )
        )
    return specs


def _days_text(days: list[int]) -> str:
    days = sorted(set(days))
    runs: list[list[int]] = []
    for d in days:
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    parts = []
    for run in runs:
        first, last = DAYS[run[0]].title(), DAYS[run[-1]].title()
        parts.append(first if len(run) == 1 else f"{first}-{last}")
    return ",".join(parts)


def restriction_text(
    weekdays: list[int], start_time: time, end_time: time, business_hours: bool
) -> str:
    if start_time == time(0) and end_time == time(0):
        span = "all day"
    else:
        span = f"{start_time:%H:%M}-{end_time:%H:%M}"
    return f"{_days_text(weekdays)} {span}" + (" business" if business_hours else "")
