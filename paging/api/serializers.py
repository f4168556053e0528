"""Serializers of the paging API: parse and present; writes go through services."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from oncall.api.fields import CallableChoiceField
from oncall.api.params import id_field
from oncall.channel_registry import target_kind, target_kind_choices
from oncall.people.models import Engineer, Team
from oncall.people.selectors import secrets_visible
from oncall.security.secrets import secret_mask
from paging.change_events import incident_recent_changes
from paging.channels.registry import registered_kinds
from paging.models import (
    ChangeEvent,
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
    Incident,
    IncidentEvent,
    Integration,
    MaintenanceWindow,
    Message,
    PriorityLevel,
    Service,
    SnsSubscription,
    UnresolvedStep,
)
from paging.models.incidents import RESOLUTIONS
from paging.models.policies import UNRESOLVED_TARGET_KINDS
from paging.models.services import SEVERITIES, URGENCIES
from paging.policy_writes import MAX_UNRESOLVED_MINUTES, target_reference
from paging.priorities import Level, PriorityInvalid, level_of, priority_levels, priority_parse


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


def _shared(context: Mapping[str, Any]) -> dict[str, Any]:
    """The response's context: every serializer of one response gets the root's dict
    (DRF's stubs type it read-only), so values computed once are kept there."""
    return cast(dict[str, Any], context)


def _levels(context: Mapping[str, Any]) -> list[Level]:
    """The priority levels, read once per response (and only when one is needed)."""
    shared = _shared(context)
    if "priority_levels" not in shared:
        shared["priority_levels"] = priority_levels()
    return shared["priority_levels"]


@extend_schema_field(
    {"oneOf": [{"type": "string"}, {"type": "integer"}], "nullable": True, "example": "P1"}
)
class PriorityField(serializers.Field):
    """A priority as people write it (``P1``, ``1``, ``SEV1``; null = none) in, its number
    (1..5 or null) out."""

    default_error_messages = {"invalid": "{reason}"}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int | None:
        try:
            return priority_parse(data, _levels(self.context))
        except PriorityInvalid as exc:
            self.fail("invalid", reason=str(exc))

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data == "":
            return True, None  # a blank string clears it, as null does
        return super().validate_empty_values(data)

    def to_representation(self, value: int | None) -> int | None:
        return value


@extend_schema_field(
    {"type": "object", "additionalProperties": {"type": "integer"}, "example": {"P1": 3}}
)
class PriorityPoliciesField(serializers.Field):
    """A service's policies per priority: ``{"P1": <policy id>}`` (keys as people write a
    priority). Writing it replaces them all; ``{}`` removes them."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", required=False, **kwargs)

    def to_internal_value(self, data: Any) -> dict[str, dict[int, int]]:
        if not isinstance(data, dict):
            raise serializers.ValidationError('must be an object: {"P1": <policy id>}')
        out: dict[int, int] = {}
        for key, policy_id in data.items():
            try:
                priority = priority_parse(key, _levels(self.context))
            except PriorityInvalid as exc:
                raise serializers.ValidationError(f"{key}: {exc}") from None
            if priority is None or priority in out:
                raise serializers.ValidationError(f"{key!r}: name each priority once")
            if isinstance(policy_id, bool) or not isinstance(policy_id, int):
                raise serializers.ValidationError(f"{key}: must be an escalation policy id")
            out[priority] = policy_id
        found = EscalationPolicy.objects.filter(pk__in=out.values()).values_list("pk", flat=True)
        missing = sorted(set(out.values()) - set(found))
        if missing:
            raise serializers.ValidationError(f"no such escalation policy: {missing}")
        return {"priority_policies": out}

    def to_representation(self, service: Service) -> dict[str, int]:
        rows = sorted((r.priority, r.escalation_policy_id) for r in service.priority_policies.all())
        return {f"P{priority}": policy_id for priority, policy_id in rows}


class ServiceSerializer(serializers.ModelSerializer):
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all())
    escalation_policy = serializers.PrimaryKeyRelatedField(
        queryset=EscalationPolicy.objects.all(), allow_null=True, required=False
    )
    # Incidents of these priorities follow these policies instead of escalation_policy.
    priority_policies = PriorityPoliciesField()

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
            "priority_policies",
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


class SnsSubscriptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = SnsSubscription
        fields = ["topic_arn", "status", "confirmed_at", "unsubscribed_at"]
        read_only_fields = fields


class IntegrationSerializer(serializers.ModelSerializer):
    service = serializers.PrimaryKeyRelatedField(queryset=Service.objects.all())
    inbound_url = serializers.CharField(read_only=True)
    # What SNS told us (SubscriptionConfirmation / UnsubscribeConfirmation): read-only.
    sns_subscriptions = SnsSubscriptionSerializer(many=True, read_only=True)

    class Meta:
        model = Integration
        fields = [
            "id",
            "service",
            "kind",
            "name",
            "grouping",
            "rate_limit_per_minute",
            "sns_topic_arns",
            "sns_subscriptions",
            "token",
            "inbound_url",
            "created_at",
        ]
        read_only_fields = ["token", "created_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        topics = attrs.get("sns_topic_arns", getattr(self.instance, "sns_topic_arns", []))
        if topics and kind != Integration.Kind.SNS:
            raise serializers.ValidationError(
                {"sns_topic_arns": f"only an Amazon SNS integration takes topics, not {kind}"}
            )
        return attrs


class ChangeEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChangeEvent
        fields = [
            "id",
            "service",
            "integration",
            "summary",
            "source",
            "occurred_at",
            "received_at",
            "custom_details",
            "links",
        ]
        read_only_fields = fields


def _require_all(serializer: serializers.Serializer, attrs: dict[str, Any]) -> None:
    """Steps and targets always replace the whole list, so even a PATCH (where DRF makes
    nested fields optional) must give each one's required fields."""
    missing = [n for n, f in serializer.fields.items() if f.required and n not in attrs]
    if missing:
        raise serializers.ValidationError({n: ["This field is required."] for n in missing})


class TargetSerializer(serializers.Serializer):
    kind = CallableChoiceField(choices=target_kind_choices)
    engineer = id_field(required=False, allow_null=True)
    team = id_field(required=False, allow_null=True)
    schedule = id_field(required=False, allow_null=True)
    address = serializers.CharField(required=False, allow_blank=True, max_length=255)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _require_all(self, attrs)
        needed = str(target_reference(attrs["kind"])).removesuffix("_id")
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
        kind = target_kind(instance.kind)
        if kind is not None and kind.secret and not self.context.get("secrets_visible", False):
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


class UnresolvedStepSerializer(serializers.Serializer):
    """ "Not resolved ``after_minutes`` after the trigger: notify this target" (a notice,
    also after an ack). ``priorities`` / ``urgency`` limit it (empty: any)."""

    after_minutes = serializers.IntegerField(min_value=1, max_value=MAX_UNRESOLVED_MINUTES)
    kind = serializers.ChoiceField(choices=UNRESOLVED_TARGET_KINDS)
    engineer = id_field(required=False, allow_null=True)
    team = id_field(required=False, allow_null=True)
    schedule = id_field(required=False, allow_null=True)
    address = serializers.CharField(required=False, allow_blank=True, max_length=255)
    priorities = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=5),
        required=False,
        max_length=5,
        help_text="priority levels (1 = P1); empty: any",
    )
    urgency = serializers.ChoiceField(
        choices=["", *URGENCIES], required=False, allow_blank=True, default=""
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _require_all(self, attrs)
        # The same reference rules (and existence checks) as an escalation target.
        target = {k: attrs.get(k) for k in ("kind", "engineer", "team", "schedule", "address")}
        TargetSerializer().validate({k: v for k, v in target.items() if v is not None})
        return attrs

    def to_representation(self, instance: UnresolvedStep) -> dict[str, Any]:
        return {
            "after_minutes": instance.after_minutes,
            "kind": instance.kind,
            "engineer": instance.engineer_id,
            "team": instance.team_id,
            "schedule": instance.schedule_id,
            "address": instance.address,
            "priorities": [int(p) for p in instance.priorities.split(",") if p],
            "urgency": instance.urgency,
        }


class EscalationPolicySerializer(serializers.ModelSerializer):
    steps = StepSerializer(many=True, required=False)
    # Notices after the trigger that run even once acknowledged; resolve stops them.
    unresolved_steps = UnresolvedStepSerializer(many=True, required=False)
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), allow_null=True, required=False
    )
    # The version new incidents take (open ones keep theirs); null before any.
    version = serializers.IntegerField(
        source="current_version.number", read_only=True, default=None
    )

    class Meta:
        model = EscalationPolicy
        fields = [
            "id",
            "name",
            "description",
            "team",
            "repeat",
            "steps",
            "unresolved_steps",
            "version",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def to_representation(self, instance: EscalationPolicy) -> dict[str, Any]:
        # Routing keys in full for staff and the policy's team admins only.
        request = self.context.get("request")
        _shared(self.context)["secrets_visible"] = secrets_visible(
            getattr(request, "user", None), team_id=instance.team_id, cache=request
        )
        return super().to_representation(instance)


class IncidentEventSerializer(serializers.ModelSerializer):
    actor_name = serializers.CharField(source="actor.display_name", default=None)

    class Meta:
        model = IncidentEvent
        fields = ["id", "at", "kind", "text", "actor", "actor_name", "via", "message", "data"]


class PriorityLevelSerializer(serializers.ModelSerializer):
    """A priority level; ``configured`` is false for the built-in defaults (no rows)."""

    code = serializers.SerializerMethodField()
    configured = serializers.SerializerMethodField()

    class Meta:
        model = PriorityLevel
        fields = [
            "level",
            "code",
            "name",
            "description",
            "ack_within_minutes",
            "resolve_within_minutes",
            "configured",
        ]

    def get_code(self, level: PriorityLevel | Level) -> str:
        return f"P{level.level}"

    def get_configured(self, level: PriorityLevel | Level) -> bool:
        return getattr(level, "configured", True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None and attrs.get("level", self.instance.level) != (
            self.instance.level
        ):
            raise serializers.ValidationError({"level": "cannot change; delete and create"})
        level = PriorityLevel(
            **{
                "level": getattr(self.instance, "level", None),
                "name": getattr(self.instance, "name", ""),
                **attrs,
            }
        )
        try:
            level.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        taken = PriorityLevel.objects.filter(name__iexact=level.name)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError({"name": f"{level.name!r} is already in use"})
        attrs["name"] = level.name
        return attrs


class IncidentSerializer(serializers.ModelSerializer):
    service_name = serializers.CharField(source="service.name")
    team = serializers.IntegerField(source="service.team_id")
    # The level's display name ("SEV1"; "P5" for a level no longer configured).
    priority_name = serializers.SerializerMethodField()

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
            "priority",
            "priority_name",
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
            "resolution",
            "escalation_policy",
            "escalation_step",
            "next_due_at",
        ]
        read_only_fields = fields

    def get_priority_name(self, incident: Incident) -> str | None:
        if incident.priority is None:
            return None  # no query for an ungraded page of incidents
        level = level_of(incident.priority, _levels(self.context))
        return level.name if level is not None else f"P{incident.priority}"


class IncidentDetailSerializer(IncidentSerializer):
    timeline = IncidentEventSerializer(source="events", many=True)
    # The policy version the incident runs (null until its escalation starts).
    escalation_policy_version = serializers.IntegerField(
        source="escalation_version.number", read_only=True, default=None
    )
    alerts = serializers.SerializerMethodField()
    assigned_to: serializers.PrimaryKeyRelatedField[Engineer] = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True
    )
    # What was sent for this incident: ``/api/v1/messages/?incident=<id>`` (staff).
    messages_url = serializers.SerializerMethodField()
    # Change events of the service in CHANGE_EVENTS_WINDOW_MINUTES before it opened.
    recent_changes = serializers.SerializerMethodField()

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
            "recent_changes",
        ]
        read_only_fields = fields

    @extend_schema_field(ChangeEventSerializer(many=True))
    def get_recent_changes(self, incident: Incident) -> list[dict[str, Any]]:
        changes = incident_recent_changes(incident=incident)
        return list(ChangeEventSerializer(changes, many=True).data)

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

    # A query filter: text in, the parsed list out (the schema shows the text).
    def to_internal_value(self, data: Any) -> list[str]:  # type: ignore[override]
        allowed = list(self._choices() if callable(self._choices) else self._choices)
        values = [v.strip() for v in str(super().to_internal_value(data)).split(",") if v.strip()]
        if not values or any(v not in allowed for v in values):
            raise serializers.ValidationError(
                f"use one or more of {', '.join(allowed)}, comma-separated"
            )
        return values


class PrioritiesFilterField(serializers.CharField):
    """``P1,P2`` (or names, or numbers; ``none`` = ungraded) -> [1, 2] (None for none)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)

    # A query filter: text in, the parsed list out (the schema shows the text).
    def to_internal_value(self, data: Any) -> list[int | None]:  # type: ignore[override]
        values = [v.strip() for v in str(super().to_internal_value(data)).split(",") if v.strip()]
        if not values:
            raise serializers.ValidationError("name one or more priorities, comma-separated")
        out: list[int | None] = []
        for value in values:
            if value.lower() == "none":
                out.append(None)
                continue
            try:
                out.append(priority_parse(value, _levels(self.context)))
            except PriorityInvalid as exc:
                raise serializers.ValidationError(str(exc)) from None
        return out


class ChangeEventFilterSerializer(serializers.Serializer):
    service = id_field(required=False)
    integration = id_field(required=False)
    occurred_after = serializers.DateTimeField(required=False)
    occurred_before = serializers.DateTimeField(required=False)


class IncidentFilterSerializer(serializers.Serializer):
    status = CommaSeparatedChoicesField(choices=Incident.Status.values)
    priority = PrioritiesFilterField()
    # true: only incidents an alert rule or an inhibition kept from paging; false: the rest.
    suppressed = serializers.BooleanField(required=False, allow_null=True, default=None)
    service = id_field(required=False)
    team = id_field(required=False)
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
    incident = id_field(required=False)
    engineer = id_field(required=False)
    status = CommaSeparatedChoicesField(choices=Message.Status.values)
    kind = CommaSeparatedChoicesField(choices=registered_kinds)
    purpose = CommaSeparatedChoicesField(choices=Message.Purpose.values)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    sent_after = serializers.DateTimeField(required=False)
    sent_before = serializers.DateTimeField(required=False)


class ReassignSerializer(serializers.Serializer):
    engineer_ids = serializers.ListField(child=id_field(), required=False, max_length=50)
    policy_id = id_field(required=False)

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


class ResolveSerializer(serializers.Serializer):
    # Why (optional): fixed, false_positive, duplicate, no_action_needed.
    resolution = serializers.ChoiceField(
        choices=RESOLUTIONS, required=False, allow_null=True, default=None
    )


class NoteSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=10_000)


class PrioritySerializer(serializers.Serializer):
    # P1..P5, 1..5 or a level's name; null (or "") clears the priority.
    priority = PriorityField()
