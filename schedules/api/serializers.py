"""Serializers for the schedules API: input validation and output shapes only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rest_framework import serializers

from oncall.people.models import Engineer, Team
from schedules.models import (
    MAX_SHIFT_LENGTH,
    Holiday,
    HolidayCalendar,
    Layer,
    Override,
    Restriction,
    Schedule,
    ShiftUnit,
    SwapRequest,
    TimeOff,
)
from schedules.services import effective_from_clamp


class EffectiveFromField(serializers.DateTimeField):
    """When an edit takes effect; a moment a few minutes past (the client's clock a little
    behind) is read as now, so an API edit never rewrites the past."""

    def to_internal_value(self, value: Any) -> datetime:
        clamped = effective_from_clamp(super().to_internal_value(value))
        assert clamped is not None  # a moment in, a moment out
        return clamped


class ScheduleSerializer(serializers.ModelSerializer):
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all())
    holiday_calendars = serializers.PrimaryKeyRelatedField(
        queryset=HolidayCalendar.objects.current(), many=True, required=False
    )
    effective_from = EffectiveFromField(
        write_only=True, required=False, help_text="when a time zone change takes effect"
    )

    class Meta:
        model = Schedule
        fields = [
            "id",
            "team",
            "name",
            "description",
            "time_zone",
            "swaps_need_approval",
            "time_off_needs_approval",
            "holiday_calendars",
            "created_at",
            "effective_from",
        ]
        read_only_fields = ["created_at"]
        validators: list = []  # uniqueness is checked by the service with a clear message


class RestrictionSerializer(serializers.ModelSerializer):
    weekdays = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=6))
    effective_from = EffectiveFromField(write_only=True, required=False)

    class Meta:
        model = Restriction
        fields = [
            "id",
            "layer",
            "weekdays",
            "start_time",
            "end_time",
            "business_hours",
            "effective_from",
        ]


class RestrictionInlineSerializer(serializers.Serializer):
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6), min_length=1
    )
    start_time = serializers.TimeField()
    end_time = serializers.TimeField()
    business_hours = serializers.BooleanField(default=False)


class LayerSerializer(serializers.ModelSerializer):
    members = serializers.PrimaryKeyRelatedField(
        queryset=Engineer.objects.all(),
        many=True,
        required=False,
        help_text="engineer ids in rotation order; an engineer may appear more than once",
    )
    restrictions = RestrictionInlineSerializer(many=True, required=False)
    shift_unit = serializers.ChoiceField(choices=ShiftUnit.choices, default=ShiftUnit.WEEKS)
    shift_length = serializers.IntegerField(min_value=1, max_value=MAX_SHIFT_LENGTH, default=1)
    effective_from = EffectiveFromField(
        write_only=True, required=False, help_text="when this edit takes effect (default now)"
    )

    class Meta:
        model = Layer
        fields = [
            "id",
            "schedule",
            "name",
            "level",
            "start_date",
            "handoff_time",
            "shift_length",
            "shift_unit",
            "members",
            "restrictions",
            "created_at",
            "deleted_at",
            "effective_from",
        ]
        read_only_fields = ["created_at", "deleted_at"]
        extra_kwargs = {"level": {"required": False}}

    def to_representation(self, instance: Layer) -> dict:
        data = super().to_representation(instance)
        data["members"] = [m.engineer_id for m in instance.layer_members.all()]
        data["restrictions"] = RestrictionSerializer(instance.restrictions.all(), many=True).data
        for r in data["restrictions"]:
            r.pop("layer", None)
        return data


class OverrideSerializer(serializers.ModelSerializer):
    class Meta:
        model = Override
        fields = [
            "id",
            "schedule",
            "engineer",
            "replace_engineer",
            "start",
            "end",
            "note",
            "created_by",
            "created_at",
        ]
        read_only_fields = ["created_by", "created_at"]


class TimeOffSerializer(serializers.ModelSerializer):
    engineer = serializers.PrimaryKeyRelatedField(queryset=Engineer.objects.all(), required=False)

    class Meta:
        model = TimeOff
        fields = ["id", "engineer", "kind", "start", "end", "note", "status", "created_at"]
        read_only_fields = ["status", "created_at"]


class SwapSerializer(serializers.ModelSerializer):
    requester = serializers.PrimaryKeyRelatedField(queryset=Engineer.objects.all(), required=False)

    class Meta:
        model = SwapRequest
        fields = [
            "id",
            "schedule",
            "requester",
            "teammate",
            "start",
            "end",
            "note",
            "status",
            "override",
            "decided_by",
            "decided_at",
            "created_at",
        ]
        read_only_fields = ["status", "override", "decided_by", "decided_at", "created_at"]


class HolidaySerializer(serializers.ModelSerializer):
    class Meta:
        model = Holiday
        fields = ["date", "name"]


class HolidayCalendarSerializer(serializers.ModelSerializer):
    holidays = HolidaySerializer(many=True, required=False)

    class Meta:
        model = HolidayCalendar
        fields = ["id", "name", "description", "source_url", "holidays", "created_at"]
        read_only_fields = ["source_url", "created_at"]


class HolidayImportSerializer(serializers.Serializer):
    file = serializers.FileField(required=False)
    url = serializers.URLField(required=False)
    replace = serializers.BooleanField(default=False)

    def validate(self, attrs: dict) -> dict:
        if bool(attrs.get("file")) == bool(attrs.get("url")):
            raise serializers.ValidationError({"file": "give exactly one of file or url"})
        return attrs


def iso(instant) -> str:
    """UTC, ISO 8601 with a Z, as every time in the schedules API."""
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def shift_data(shift, names: dict[int, str]) -> dict:
    return {
        "engineer": shift.engineer_id,
        "engineer_name": names.get(shift.engineer_id, ""),
        "start": iso(shift.start),
        "end": iso(shift.end),
        "source": shift.source,
        "reason": shift.reason,
        "substitute_for": shift.substitute_for,
        "holiday": shift.holiday,
    }
