"""Query parameters of the analytics endpoints -> a MetricFilter (400 on bad input)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone
from rest_framework import serializers

from analytics.filters import BREAKDOWNS, MetricFilter
from paging.models.services import SEVERITIES, URGENCIES
from paging.priorities import PriorityInvalid, priority_parse

DEFAULT_DAYS = 30
MAX_SPAN = timedelta(days=3 * 366)
MAX_ID = 2**63 - 1


# Far enough from datetime.min/max that shifting to UTC, subtracting ``days`` and
# bucketing by month never overflow (year 1 or 9999 would: OverflowError, a 500).
MIN_YEAR = 1900
MAX_YEAR = 9000


def _instant(value: str, tz: ZoneInfo, field: str) -> datetime:
    """An ISO date (local midnight in ``tz``) or an ISO datetime (naive = in ``tz``)."""
    try:
        if len(value) == 10:
            parsed = datetime.combine(date.fromisoformat(value), time(0))
        else:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise serializers.ValidationError({field: "not an ISO 8601 date or datetime"}) from exc
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise serializers.ValidationError(
            {field: f"year must be between {MIN_YEAR} and {MAX_YEAR}"}
        )
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


class MetricParams(serializers.Serializer):
    start = serializers.CharField(required=False, help_text="ISO date/datetime, inclusive")
    end = serializers.CharField(required=False, help_text="ISO date/datetime, exclusive")
    days = serializers.IntegerField(required=False, min_value=1, max_value=3 * 366)
    tz = serializers.CharField(required=False, default="UTC")
    by = serializers.ChoiceField(choices=BREAKDOWNS, required=False, default="none")
    # max_value: a larger id would overflow the database driver (a 500).
    team = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    service = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    engineer = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    urgency = serializers.ChoiceField(choices=URGENCIES, required=False)
    severity = serializers.ChoiceField(choices=SEVERITIES, required=False)
    priority = serializers.CharField(required=False, help_text="P1..P5 or a level's name")

    def validate_priority(self, value: str) -> int | None:
        # Blank never gets here (a 400: "may not be blank").
        try:
            return priority_parse(value)
        except PriorityInvalid as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_tz(self, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise serializers.ValidationError("unknown time zone") from exc
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        tz = ZoneInfo(attrs["tz"])
        end = _instant(attrs["end"], tz, "end") if "end" in attrs else timezone.now()
        if "start" in attrs:
            start = _instant(attrs["start"], tz, "start")
        else:
            start = end - timedelta(days=attrs.get("days", DEFAULT_DAYS))
        if start >= end:
            raise serializers.ValidationError({"end": "must be after start"})
        if end - start > MAX_SPAN:
            raise serializers.ValidationError({"start": "period longer than 3 years"})
        attrs["filter"] = MetricFilter(
            start=start,
            end=end,
            tz=tz,
            team=attrs.get("team"),
            service=attrs.get("service"),
            urgency=attrs.get("urgency"),
            severity=attrs.get("severity"),
            engineer=attrs.get("engineer"),
            priority=attrs.get("priority"),
        )
        return attrs


def metric_params(query: Any) -> tuple[MetricFilter, str]:
    """(filter, breakdown) from request.query_params; raises ValidationError (-> 400)."""
    data = {k: v for k, v in query.items() if k != "format"}
    params = MetricParams(data=data)
    params.is_valid(raise_exception=True)
    return params.validated_data["filter"], params.validated_data["by"]
