"""Query parameters of the analytics endpoints -> a MetricFilter (400 on bad input)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone
from rest_framework import serializers

from analytics.filters import BREAKDOWNS, MetricFilter
from oncall.api.params import id_field, instant_parse
from paging.models.services import SEVERITIES, URGENCIES
from paging.priorities import PriorityInvalid, priority_parse

DEFAULT_DAYS = 30
MAX_SPAN = timedelta(days=3 * 366)


class MetricParams(serializers.Serializer):
    start = serializers.CharField(required=False, help_text="ISO date/datetime, inclusive")
    end = serializers.CharField(required=False, help_text="ISO date/datetime, exclusive")
    days = serializers.IntegerField(required=False, min_value=1, max_value=3 * 366)
    tz = serializers.CharField(required=False, default="UTC")
    by = serializers.ChoiceField(choices=BREAKDOWNS, required=False, default="none")
    team = id_field(required=False)
    service = id_field(required=False)
    engineer = id_field(required=False)
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
        end = instant_parse(attrs["end"], name="end", zone=tz) if "end" in attrs else timezone.now()
        if "start" in attrs:
            start = instant_parse(attrs["start"], name="start", zone=tz)
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
