"""Breakdown keys: which columns a metric is grouped by, and how a key is shown."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import F
from django.db.models.functions import Trunc

# Internal alias prefix: annotations may not reuse model field names (service_id…).
KEY_PREFIX = "k_"


def group_columns(*, by: str, tz: ZoneInfo, prefix: str = "") -> dict[str, Any]:
    """Annotations (aliased ``k_<name>``) naming the group of each incident row.

    ``prefix`` walks from another model to the incident (``incident__``). Time buckets
    start at local midnight (Monday for weeks) in ``tz``: the database truncates the
    local time, so a day bucket spans 23 or 25 hours across a DST change.
    """
    p = prefix
    if by == "service":
        cols = {"service_id": F(f"{p}service_id"), "service_name": F(f"{p}service__name")}
    elif by == "team":
        cols = {"team_id": F(f"{p}service__team_id"), "team_name": F(f"{p}service__team__name")}
    elif by == "engineer":
        cols = {
            "engineer_id": F(f"{p}acknowledged_by_id"),
            "engineer_name": F(f"{p}acknowledged_by__display_name"),
        }
    elif by in ("day", "week", "month"):
        cols = {"bucket": Trunc(f"{p}created_at", by, tzinfo=tz)}
    else:
        cols = {}
    return {KEY_PREFIX + name: expr for name, expr in cols.items()}


def group_key_out(row: dict[str, Any], *, by: str, tz: ZoneInfo) -> dict[str, Any]:
    """The group part of an output row (a time bucket as its local start date)."""
    if by in ("day", "week", "month"):
        bucket: datetime = row[KEY_PREFIX + "bucket"]
        local = bucket.astimezone(tz)
        label = local.strftime("%Y-%m") if by == "month" else local.date().isoformat()
        return {"bucket": label, "bucket_start": local.isoformat()}
    return {alias.removeprefix(KEY_PREFIX): row[alias] for alias in group_columns(by=by, tz=tz)}
