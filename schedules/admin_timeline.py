"""The schedule page's timeline context: query parameters in, template rows out.

``tl_range`` (day, week, 2weeks, month), ``tl_day`` (a local ISO date in the range) and
``tl_tz`` (an IANA zone; default the schedule's) select what ``schedules.timeline``
lays out. Final shifts and future gaps link to "add override" prefilled with them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import reverse

from oncall.people.selectors import engineer_for_user
from schedules.models import SwapRequest
from schedules.resolver import ScheduleDefinition
from schedules.timeline import RANGES, Bar, Timeline, local_today, timeline_build
from schedules.zoned import round_up_minute, zone_label, zone_or_utc


def _iso(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


def add_override_url(schedule_id: int, bar: Bar, now: datetime) -> str:
    """ "Add override" prefilled with the shift (or gap) from now on."""
    start = max(bar.full_start or bar.start, round_up_minute(now))
    params = {"schedule": schedule_id, "start": _iso(start), "end": _iso(bar.full_end or bar.end)}
    if bar.kind != "gap" and bar.engineer_id is not None:
        params["replace_engineer"] = bar.engineer_id
    return f"{reverse('admin:schedules_override_add')}?{urlencode(params)}"


def timeline_context(
    request: HttpRequest, definition: ScheduleDefinition, *, now: datetime
) -> dict[str, object]:
    schedule_zone = definition.time_zone
    engineer = engineer_for_user(request.user)
    own_zone = zone_or_utc(getattr(engineer, "time_zone", None)) if engineer else None
    zone = zone_or_utc(request.GET.get("tl_tz") or schedule_zone)
    range_key = request.GET.get("tl_range", "week")
    if range_key not in RANGES:
        range_key = "week"
    try:
        day = date.fromisoformat(request.GET.get("tl_day", ""))
    except ValueError:
        day = local_today(now, zone)
    swap_ids = set(
        SwapRequest.objects.filter(schedule_id=definition.id, override__isnull=False).values_list(
            "override_id", flat=True
        )
    )
    tl = timeline_build(
        definition, range_key=range_key, day=day, zone=zone, now=now, swap_override_ids=swap_ids
    )

    def link(**changes: object) -> str:
        params = {"tl_range": tl.range, "tl_day": tl.first_day.isoformat(), "tl_tz": tl.zone}
        params.update({k: str(v) for k, v in changes.items()})
        return "?" + urlencode(params)

    zones = [(f"Schedule zone ({schedule_zone})", link(tl_tz=schedule_zone), zone == schedule_zone)]
    if own_zone and own_zone != schedule_zone:
        zones.append((f"My zone ({own_zone})", link(tl_tz=own_zone), zone == own_zone))
    elif not own_zone:
        zones.append(("My zone (browser)", "", False))
    if zone not in (schedule_zone, own_zone):
        zones.append((zone, link(tl_tz=zone), True))
    rows = []
    for row in tl.rows:
        bars = []
        for bar in row.bars:
            clickable = row.kind == "final" and (bar.full_end or bar.end) > now
            href = add_override_url(definition.id, bar, now) if clickable else ""
            bars.append((bar, href))
        rows.append({"label": row.label, "kind": row.kind, "bars": bars})
    return {
        "tl": tl,
        "tl_rows": rows,
        "tl_title": _title(tl),
        "tl_zone_label": zone_label(zone, now),
        "tl_ranges": [(key, label, link(tl_range=key)) for key, label in RANGES.items()],
        "tl_previous": link(tl_day=tl.previous_day.isoformat()),
        "tl_next": link(tl_day=tl.next_day.isoformat()),
        "tl_today": link(tl_day=local_today(now, zone).isoformat()),
        "tl_zones": zones,
        "tl_browser_href": link(tl_tz=""),  # the page's script appends the zone
    }


def _title(tl: Timeline) -> str:
    label = RANGES[tl.range]
    first = tl.first_day
    if tl.range == "month":
        return f"{first:%B %Y} ({label}, {tl.zone})"
    if tl.range == "day":
        return f"{first:%a %d %b %Y} ({label}, {tl.zone})"
    last = tl.next_day - timedelta(days=1)
    return f"{first:%a %d %b} – {last:%a %d %b %Y} ({label}, {tl.zone})"
