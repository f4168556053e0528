"""Ids and instants from API input, with the bounds every app shares (400, never a 500).

Ids are 64-bit: a larger number overflows the database driver (an ``OverflowError``,
a 500). Instants stay within years ``MIN_YEAR``..``MAX_YEAR``, far from
``datetime.min``/``max``: shifting to UTC, adding a default week, resolving shifts or
bucketing by month would overflow near them. Every API view and serializer takes its
ids and instants through here, so one bound holds on every endpoint.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import exceptions, serializers
from rest_framework.request import Request

MAX_ID = 2**63 - 1
MIN_YEAR = 1900
MAX_YEAR = 9000


def id_field(**kwargs: Any) -> serializers.IntegerField:
    """A serializer field for an object id: 1..``MAX_ID``."""
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def id_or_none(value: object) -> int | None:
    """``value`` as an id if it is one (digits, 1..``MAX_ID``), else None: for lenient
    readers (admin query strings) that treat a bad id like a missing object."""
    text = str(value or "")
    return int(text) if text.isdigit() and 0 < int(text) <= MAX_ID else None


def int_param(request: Request, name: str) -> int | None:
    """An id filter from the query string (absent or blank: None); 400 naming ``name``."""
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise exceptions.ValidationError({name: [f"{raw!r} is not a whole number"]}) from None
    if abs(value) > MAX_ID:
        raise exceptions.ValidationError({name: [f"{raw!r} is out of range for an id"]})
    return value


def year_check(value: date, *, name: str, raw: str) -> None:
    """400 naming ``name`` unless ``value`` falls in years ``MIN_YEAR``..``MAX_YEAR``."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise exceptions.ValidationError(
            {name: [f"{raw!r} is out of range: the year must be between {MIN_YEAR} and {MAX_YEAR}"]}
        )


def instant_parse(raw: str, *, name: str, zone: ZoneInfo | None = None) -> datetime:
    """An ISO 8601 date-time within the year bounds; 400 naming ``name``.

    Without ``zone`` it must carry a UTC offset. With ``zone``, a date is local midnight
    there and a date-time without an offset is local time there.
    """
    try:
        if zone is not None and len(raw) == 10:
            value: datetime | None = datetime.combine(date.fromisoformat(raw), time(0))
        else:
            # A "+" in a query string arrives as a space.
            value = parse_datetime(raw.replace(" ", "+"))
    except ValueError:
        value = None
    if value is None:
        kind = "date-time" if zone is None else "date or date-time"
        raise exceptions.ValidationError({name: [f"{raw!r} is not an ISO 8601 {kind}"]})
    if timezone.is_naive(value) and zone is None:
        raise exceptions.ValidationError({name: [f"{raw!r} needs a UTC offset (e.g. Z)"]})
    year_check(value, name=name, raw=raw)
    return value if timezone.is_aware(value) else value.replace(tzinfo=zone)


def instant_param(request: Request, name: str, default: datetime | None = None) -> datetime:
    """An instant with a UTC offset from the query string (absent: ``default``, else 400)."""
    raw = request.query_params.get(name)
    if raw in (None, ""):
        if default is None:
            raise exceptions.ValidationError({name: ["is required (ISO 8601 with offset)"]})
        return default
    return instant_parse(raw, name=name)
