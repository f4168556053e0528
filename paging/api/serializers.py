"""Serializers of the paging API: parse and present; writes go through services."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.urls import reverse
from rest_framework import serializers

from oncall.people.models import Engineer, Team
from oncall.security.secrets import secret_mask, secrets_visible
from paging.channels.registry import registered_kinds
from paging.models import (
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
    Incident,
    IncidentEvent,
    Integration,
    MaintenanceWindow,
    Message,
    Service,
)
from paging.models.services import SEVERITIES, URGENCIES
from paging.policy_writes import REFERENCE_FOR_KIND


class MaintenanceWindowSerializer(serializers.ModelSerializer):
    class Meta:
        model = MaintenanceWindow
        fields = ["id", "service", "starts_at", "ends_at", "reason"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        starts = attrs.get("starts_at", getattr(self.instance, "starts_at", None))
        ends = attrs.get("ends_at", getattr(self.instance, "ends_at", None))
        if starts and ends and ends <= starts:
            raise serializers.ValidationError({"ends_at": "must be after starts_at"})
        return attrs


class ServiceSerializer(serializers.ModelSerializer):
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all())
    escalation_policy = serializers.PrimaryKeyRelatedField(
        queryset=EscalationPolicy.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = Service
        fields = [
            "id",
            "name",
            "description",
            "team",
            "escalation_policy",
            "urgency_rules",
            "ack_timeout_minutes",
            "low_urgency_business_hours_only",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def validate_urgency_rules(self, value: Any) -> dict[str, str]:
        if not isinstance(value, dict):
            raise serializers.ValidationError("must be an object of severity: urgency")
        for severity, urgency in value.items():
            if severity not in SEVERITIES:
                raise serializers.ValidationError(
                    f"{severity!r} is not a severity ({', '.join(SEVERITIES)})"
                )
            if urgency not in URGENCIES:
                raise serializers.ValidationError(
                    f"{severity}: {urgency!r} is not an urgency ({', '.join(URGENCIES)})"
                )
        return value


class IntegrationSerializer(serializers.ModelSerializer):
    service = serializers.PrimaryKeyRelatedField(queryset=Service.objects.all())
    inbound_url = serializers.CharField(read_only=True)

    class Meta:
        model = Integration
        fields = [
            "id",
            "service",
            "kind",
            "name",
            "grouping",
            "token",
            "inbound_url",
            "created_at",
        ]
        read_only_fields = ["token", "created_at"]


def _require_all(serializer: serializers.Serializer, attrs: dict[str, Any]) -> None:
    """Steps and targets always replace the whole list, so even a PATCH (where DRF makes
    nested fields optional) must give each one's required fields."""
    missing = [n for n, f in serializer.fields.items() if f.required and n not in attrs]
    if missing:
        raise serializers.ValidationError({n: ["This field is required."] for n in missing})


class TargetSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EscalationTarget.Kind.choices)
    engineer = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    team = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    schedule = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    address = serializers.CharField(required=False, allow_blank=True, max_length=255)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _require_all(self, attrs)
        needed = REFERENCE_FOR_KIND[attrs["kind"]].removesuffix("_id")
        if not attrs.get(needed):
            raise serializers.ValidationError({needed: f"required for a {attrs['kind']} target"})
        for other in ("engineer", "team", "schedule", "address"):
            if other != needed and attrs.get(other):
                raise serializers.ValidationError(
                    {other: f"not allowed for a {attrs['kind']} target"}
                )
        if needed == "engineer" and not Engineer.objects.filter(pk=attrs["engineer"]).exists():
            raise serializers.ValidationError({"engineer": "no such engineer"})
        if needed == "team" and not Team.objects.filter(pk=attrs["team"]).exists():
            raise serializers.ValidationError({"team": "no such team"})
        if needed == "schedule":
            from schedules.models import Schedule

            if not Schedule.objects.filter(pk=attrs["schedule"]).exists():
                raise serializers.ValidationError({"schedule": "no such schedule"})
        return attrs

    def to_representation(self, instance: EscalationTarget) -> dict[str, Any]:
        address = instance.address
        if instance.kind == EscalationTarget.Kind.PAGERDUTY_SERVICE and not self.context.get(
            "secrets_visible", False
        ):
            address = secret_mask(address)  # a routing key: anyone holding it can page
        return {
            "kind": instance.kind,
            "engineer": instance.engineer_id,
            "team": instance.team_id,
            "schedule": instance.schedule_id,
            "address": address,
        }


class StepSerializer(serializers.Serializer):
    delay_minutes = serializers.IntegerField(min_value=0, max_value=7 * 24 * 60)
    targets = TargetSerializer(many=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _require_all(self, attrs)
        return attrs

    def to_representation(self, instance: EscalationStep) -> dict[str, Any]:
        return {
            "position": instance.position,
            "delay_minutes": instance.delay_minutes,
            "targets": [
                TargetSerializer(context=self.context).to_representation(t)
                for t in instance.targets.all()
            ],
        }


class EscalationPolicySerializer(serializers.ModelSerializer):
    steps = StepSerializer(many=True, required=False)
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), allow_null=True, required=False
    )
    # The version new incidents take (open ones keep theirs); null before any.
    version = serializers.IntegerField(
        source="current_version.number", read_only=True, default=None
    )

    class Meta:
        model = EscalationPolicy
        fields = ["id", "name", "description", "team", "repeat", "steps", "version", "created_at"]
        read_only_fields = ["created_at"]

    def to_representation(self, instance: EscalationPolicy) -> dict[str, Any]:
        # Routing keys in full for staff and the policy's team admins only.
        request = self.context.get("request")
        self.context["secrets_visible"] = secrets_visible(
            getattr(request, "user", None), team_id=instance.team_id, cache=request
        )
        return super().to_representation(instance)


class IncidentEventSerializer(serializers.ModelSerializer):
    actor_name = serializers.CharField(source="actor.display_name", default=None)

    class Meta:
        model = IncidentEvent
        fields = ["id", "at", "kind", "text", "actor", "actor_name", "via", "message", "data"]


class IncidentSerializer(serializers.ModelSerializer):
    service_name = serializers.CharField(source="service.name")
    team = serializers.IntegerField(source="service.team_id")

    class Meta:
        model = Incident
        fields = [
            "id",
            "service",
            "service_name",
            "team",
            "dedup_key",
            "title",
            "severity",
            "urgency",
            "status",
            "in_maintenance",
            "priority",
            "suppressed_by",
            "created_at",
            "updated_at",
            "acknowledged_at",
            "acknowledged_by",
            "acknowledged_via",
            "first_acknowledged_at",
            "first_acknowledged_by",
            "resolved_at",
            "resolved_by",
            "resolved_via",
            "escalation_policy",
            "escalation_step",
            "next_due_at",
        ]
        read_only_fields = fields


class IncidentDetailSerializer(IncidentSerializer):
    timeline = IncidentEventSerializer(source="events", many=True)
    # The policy version the incident runs (null until its escalation starts).
    escalation_policy_version = serializers.IntegerField(
        source="escalation_version.number", read_only=True, default=None
    )
    alerts = serializers.SerializerMethodField()
    assigned_to = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    # What was sent for this incident: ``/api/v1/messages/?incident=<id>`` (staff).
    messages_url = serializers.SerializerMethodField()

    class Meta(IncidentSerializer.Meta):
        fields = [
            *IncidentSerializer.Meta.fields,
            "escalation_policy_version",
            "escalation_started_at",
            "details",
            "links",
            "assigned_to",
            "alerts",
            "timeline",
            "messages_url",
        ]
        read_only_fields = fields

    def get_messages_url(self, incident: Incident) -> str:
        path = f"{reverse('message-list')}?incident={incident.pk}"
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    def get_alerts(self, incident: Incident) -> list[dict[str, Any]]:
        return [
            {
                "alert_key": a.alert_key,
                "status": a.status,
                "title": a.title,
                "severity": a.severity,
                "first_seen_at": a.first_seen_at,
                "last_seen_at": a.last_seen_at,
                "resolved_at": a.resolved_at,
                "deliveries": a.deliveries,
            }
            for a in incident.alerts.all()
        ]


class CommaSeparatedChoicesField(serializers.CharField):
    """A query parameter naming one or more of ``choices``, comma-separated ("a,b").

    ``choices`` may be a callable, for sets known only once the apps are loaded.
    """

    def __init__(self, *, choices: Sequence[str] | Callable[[], Sequence[str]], **kwargs: Any):
        super().__init__(required=False, **kwargs)
        self._choices = choices

    def to_internal_value(self, data: Any) -> list[str]:
        allowed = list(self._choices() if callable(self._choices) else self._choices)
        values = [v.strip() for v in str(super().to_internal_value(data)).split(",") if v.strip()]
        if not values or any(v not in allowed for v in values):
            raise serializers.ValidationError(
                f"use one or more of {', '.join(allowed)}, comma-separated"
            )
        return values


def _id_filter() -> serializers.IntegerField:
    # max_value: a larger id would overflow the database driver (a 500).
    return serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


class IncidentFilterSerializer(serializers.Serializer):
    status = CommaSeparatedChoicesField(choices=Incident.Status.values)
    # true: only incidents an alert rule or an inhibition kept from paging; false: the rest.
    suppressed = serializers.BooleanField(required=False, allow_null=True, default=None)
    service = _id_filter()
    team = _id_filter()
    urgency = serializers.ChoiceField(choices=URGENCIES, required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)


class MessageSerializer(serializers.ModelSerializer):
    """An outgoing message as sent (or not): without its body, which holds one-time
    codes and signed acknowledge links."""

    class Meta:
        model = Message
        fields = [
            "id",
            "incident",
            "engineer",
            "purpose",
            "kind",
            "contact_method",
            "destination",
            "subject",
            "status",
            "attempts",
            "rate_limited",
            "transport",
            "provider_id",
            "last_error",
            "escalation_step",
            "escalation_loop",
            "bundled_into",
            "created_at",
            "due_at",
            "sent_at",
        ]
        read_only_fields = fields


class MessageFilterSerializer(serializers.Serializer):
    incident = _id_filter()
    engineer = _id_filter()
    status = CommaSeparatedChoicesField(choices=Message.Status.values)
    kind = CommaSeparatedChoicesField(choices=registered_kinds)
    purpose = CommaSeparatedChoicesField(choices=Message.Purpose.values)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    sent_after = serializers.DateTimeField(required=False)
    sent_before = serializers.DateTimeField(required=False)


class ReassignSerializer(serializers.Serializer):
    engineer_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=50
    )
    policy_id = serializers.IntegerField(required=False, min_value=1)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        engineers, policy = attrs.get("engineer_ids"), attrs.get("policy_id")
        if bool(engineers) == bool(policy):
            raise serializers.ValidationError(
                {"engineer_ids": "give either engineer_ids or policy_id"}
            )
        if engineers:
            found = set(Engineer.objects.filter(pk__in=engineers).values_list("pk", flat=True))
            missing = [e for e in engineers if e not in found]
            if missing:
                raise serializers.ValidationError({"engineer_ids": f"no such engineer: {missing}"})
        if policy and not EscalationPolicy.objects.filter(pk=policy).exists():
            raise serializers.ValidationError({"policy_id": "no such escalation policy"})
        return attrs


class NoteSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=10_000)
