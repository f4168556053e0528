"""Breakdown keys: which columns a metric is grouped by, and how a key is shown."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import F
from django.db.models.functions import Trunc

from analytics.filters import responder

# Internal alias prefix: annotations may not reuse model field names (service_id…).
KEY_PREFIX = "k_"


def group_columns(*, by: str, tz: ZoneInfo, prefix: str = "") -> dict[str, Any]:
    """Annotations (aliased ``k_<name>``) naming the group of each incident row.

    ``prefix`` walks from another model to the incident (``incident__``). Time buckets
    start at local midnight (Monday for weeks) in ``tz``: the database truncates the
    local time, so a day bucket spans 23 or 25 hours across a DST change.
    """
    p = prefix
    # Ids only: names are looked up afterwards (group_names), which keeps the rows
    # the database sorts for GROUP BY narrow.
    if by == "service":
        cols = {"service_id": F(f"{p}service_id")}
    elif by == "team":
        cols = {"team_id": F(f"{p}service__team_id")}
    elif by == "engineer":
        cols = {"engineer_id": responder(p)}
    elif by == "priority":
        cols = {"priority": F(f"{p}priority")}
    elif by in ("day", "week", "month"):
        cols = {"bucket": Trunc(f"{p}created_at", by, tzinfo=tz)}
    else:
        cols = {}
    return {KEY_PREFIX + name: expr for name, expr in cols.items()}


NAMED = {
    "service": ("service_id", "service_name"),
    "team": ("team_id", "team_name"),
    "engineer": ("engineer_id", "engineer_name"),
    "priority": ("priority", "priority_name"),
}


def group_names(*, by: str, ids: Iterable[int | None]) -> dict[int | None, str | None]:
    """Names of the groups' ids, in one query (None: e.g. nobody acknowledged)."""
    from oncall.people.models import Engineer, Team
    from paging.models import Service

    wanted = {i for i in ids if i is not None}
    if by == "service":
        names = Service.objects.filter(pk__in=wanted).values_list("pk", "name")
    elif by == "team":
        names = Team.objects.filter(pk__in=wanted).values_list("pk", "name")
    elif by == "engineer":
        names = Engineer.objects.filter(pk__in=wanted).values_list("pk", "display_name")
    elif by == "priority":
        from paging.priorities import priority_levels

        named = {level.level: level.name for level in priority_levels()}
        return {p: named.get(p, f"P{p}") for p in wanted} | {None: "not graded"}
    else:
        return {}
    return dict(names)


def group_key_out(
    row: dict[str, Any], *, by: str, tz: ZoneInfo, names: dict[int | None, str | None]
) -> dict[str, Any]:
    """The group part of an output row (a time bucket as its local start date)."""
    if by in ("day", "week", "month"):
        bucket: datetime = row[KEY_PREFIX + "bucket"]
        local = bucket.astimezone(tz)
        label = local.strftime("%Y-%m") if by == "month" else local.date().isoformat()
        return {"bucket": label, "bucket_start": local.isoformat()}
    if by in NAMED:
        id_name, label_name = NAMED[by]
        key = row[KEY_PREFIX + id_name]
        return {id_name: key, label_name: names.get(key)}
    return {}
