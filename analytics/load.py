"""On-call load per engineer: hours on call (schedules resolver) and interruptions.

Interruption classes, in the engineer's own time zone, exclusive of each other:
- business: Monday-Friday, 08:00 <= t < 18:00
- sleep: 22:00 <= t or t < 08:00, any day
- off_hours: everything else (weekday evenings 18-22, weekend days 08-22)
(PagerDuty's "off hours" also contains sleep hours: off_hours + sleep gives that.)
An interruption is one page (outbox message) a provider accepted, at its ``sent_at``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Q
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay

from oncall.people.models import Engineer
from paging.models import Message
from schedules.models import Schedule
from schedules.selectors import schedule_shifts

BUSINESS_START, BUSINESS_END, SLEEP_START = 8, 18, 22
DELIVERED_STATUSES = (Message.Status.SENT, Message.Status.DELIVERED)

Interval = tuple[datetime, datetime]


@dataclass
class _Load:
    oncall: list[Interval]
    holiday: list[Interval]


def _union_seconds(spans: list[Interval]) -> float:
    total = 0.0
    end_so_far: datetime | None = None
    for start, end in sorted(spans):
        if end_so_far is not None and start < end_so_far:
            if end > end_so_far:
                total += (end - end_so_far).total_seconds()
                end_so_far = end
            continue
        total += (end - start).total_seconds()
        end_so_far = end
    return total


def business_q(n: int) -> Q:
    return Q(
        **{f"_dow{n}__lte": 5, f"_hour{n}__gte": BUSINESS_START, f"_hour{n}__lt": BUSINESS_END}
    )


def sleep_q(n: int) -> Q:
    return Q(**{f"_hour{n}__gte": SLEEP_START}) | Q(**{f"_hour{n}__lt": BUSINESS_START})


def oncall_load(
    *, start: datetime, end: datetime, team: int | None = None, engineer: int | None = None
) -> list[dict[str, Any]]:
    engineers = Engineer.objects.all()
    if team is not None:
        engineers = engineers.filter(memberships__team_id=team)
    if engineer is not None:
        engineers = engineers.filter(pk=engineer)
    wanted = set(engineers.values_list("pk", flat=True))

    loads: dict[int, _Load] = defaultdict(lambda: _Load([], []))
    schedules = Schedule.objects.order_by("pk")
    if team is not None:
        schedules = schedules.filter(team_id=team)
    for schedule_id in schedules.values_list("pk", flat=True):
        for shift in schedule_shifts(schedule_id=schedule_id, start=start, end=end):
            if shift.engineer_id not in wanted:
                continue
            span = (max(shift.start, start), min(shift.end, end))
            if span[0] >= span[1]:
                continue
            loads[shift.engineer_id].oncall.append(span)
            if shift.holiday:
                loads[shift.engineer_id].holiday.append(span)

    pages = _interruptions(start=start, end=end, engineer_ids=wanted)
    ids = set(loads) | set(pages)
    people = {
        e.pk: e for e in Engineer.objects.filter(pk__in=ids).only("display_name", "time_zone")
    }
    out = []
    for engineer_id in sorted(ids, key=lambda i: (people[i].display_name, i)):
        load = loads.get(engineer_id, _Load([], []))
        counts = pages.get(engineer_id, {"business": 0, "off_hours": 0, "sleep": 0})
        out.append(
            {
                "engineer_id": engineer_id,
                "engineer_name": people[engineer_id].display_name,
                "time_zone": people[engineer_id].time_zone,
                "oncall_hours": round(_union_seconds(load.oncall) / 3600, 2),
                "holiday_hours": round(_union_seconds(load.holiday) / 3600, 2),
                "pages": sum(counts.values()),
                "interruptions_business": counts["business"],
                "interruptions_off_hours": counts["off_hours"],
                "interruptions_sleep": counts["sleep"],
            }
        )
    return out


def _interruptions(
    *, start: datetime, end: datetime, engineer_ids: set[int]
) -> dict[int, dict[str, int]]:
    """Pages per engineer and class, in one scan: local hour and weekday are computed
    once per time zone in use, and each engineer's rows use their own zone's."""
    by_tz: dict[str, list[int]] = defaultdict(list)
    for pk, tz_name in Engineer.objects.filter(pk__in=engineer_ids).values_list("pk", "time_zone"):
        by_tz[tz_name].append(pk)
    if not by_tz:
        return {}
    annotations: dict[str, Any] = {}
    business, sleep = Q(), Q()
    for n, (tz_name, ids) in enumerate(sorted(by_tz.items())):
        tz = ZoneInfo(tz_name)
        annotations[f"_hour{n}"] = ExtractHour("sent_at", tzinfo=tz)
        annotations[f"_dow{n}"] = ExtractIsoWeekDay("sent_at", tzinfo=tz)
        mine = Q(engineer_id__in=ids)
        business |= mine & business_q(n)
        sleep |= mine & sleep_q(n)
    rows = (
        Message.objects.filter(
            purpose=Message.Purpose.PAGE,
            status__in=DELIVERED_STATUSES,
            engineer_id__in=[pk for ids in by_tz.values() for pk in ids],
            sent_at__gte=start,
            sent_at__lt=end,
        )
        .annotate(**annotations)
        .order_by()
        .values("engineer_id")
        .annotate(
            total=Count("id"),
            business=Count("id", filter=business),
            sleep=Count("id", filter=sleep),
        )
    )
    return {
        row["engineer_id"]: {
            "business": row["business"],
            "sleep": row["sleep"],
            "off_hours": row["total"] - row["business"] - row["sleep"],
        }
        for row in rows
    }
