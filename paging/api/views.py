"""Paging API views: parse, call a service, present."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from oncall.api.errors import ServiceErrorsMixin
from oncall.api.permissions import IsStaffOrReadOnly
from oncall.people.selectors import engineer_id_for_user
from paging.api import serializers as s
from paging.incident_actions import (
    IncidentActionError,
    incident_acknowledge,
    incident_add_note,
    incident_escalate_now,
    incident_reassign,
    incident_resolve,
    incident_set_priority,
)
from paging.integration_tokens import integration_token_rotate
from paging.models import (
    ChangeEvent,
    EscalationPolicy,
    EscalationStep,
    Incident,
    IncidentEvent,
    Integration,
    MaintenanceWindow,
    Message,
    PriorityLevel,
    Service,
    UnresolvedStep,
)
from paging.policy_versions import policy_version_apply_to_open
from paging.policy_writes import (
    PolicyError,
    policy_delete,
    policy_save,
    step_specs_from_data,
    unresolved_specs_from_data,
)
from paging.priorities import DEFAULT_LEVELS, PriorityInvalid
from paging.service_writes import (
    integration_delete,
    integration_save,
    maintenance_window_delete,
    maintenance_window_save,
    priority_level_delete,
    priority_level_save,
    service_delete,
    service_save,
)


class ServiceViewSet(ServiceErrorsMixin, viewsets.ModelViewSet):
    # ServiceErrorsMixin: deleting a service alert rules route to is a 409 naming them.
    serializer_class = s.ServiceSerializer
    permission_classes = [IsStaffOrReadOnly]
    queryset = (
        Service.objects.select_related("team", "escalation_policy")
        .prefetch_related("priority_policies")
        .order_by("name")
    )

    def _save(self, serializer: BaseSerializer[Service], service: Service | None) -> None:
        fields = dict(serializer.validated_data)
        by_priority = fields.pop("priority_policies", None)
        service = service_save(service=service, fields=fields, priority_policies=by_priority)
        serializer.instance = self.get_queryset().get(pk=service.pk)

    def perform_create(self, serializer: BaseSerializer[Service]) -> None:
        self._save(serializer, None)

    def perform_update(self, serializer: BaseSerializer[Service]) -> None:
        self._save(serializer, serializer.instance)

    def perform_destroy(self, instance: Service) -> None:
        service_delete(service=instance)


class MaintenanceWindowViewSet(viewsets.ModelViewSet):
    serializer_class = s.MaintenanceWindowSerializer
    permission_classes = [IsStaffOrReadOnly]
    queryset = MaintenanceWindow.objects.order_by("-starts_at")

    # Through the service: a window shortened or deleted releases the incidents it held.
    def perform_create(self, serializer: BaseSerializer[MaintenanceWindow]) -> None:
        serializer.instance = maintenance_window_save(
            window=None, fields=dict(serializer.validated_data)
        )

    def perform_update(self, serializer: BaseSerializer[MaintenanceWindow]) -> None:
        serializer.instance = maintenance_window_save(
            window=serializer.instance, fields=dict(serializer.validated_data)
        )

    def perform_destroy(self, instance: MaintenanceWindow) -> None:
        maintenance_window_delete(window=instance)


class IntegrationViewSet(viewsets.ModelViewSet):
    """Integrations hold secret tokens: staff only."""

    serializer_class = s.IntegrationSerializer
    permission_classes = [IsAdminUser]
    queryset = (
        Integration.objects.select_related("service")
        .prefetch_related("sns_subscriptions")
        .order_by("id")
    )

    @extend_schema(request=None, responses=s.IntegrationSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-token")
    def rotate_token(self, request: Request, pk: str | None = None) -> Response:
        """A new token; the old one stops working at once, in every process."""
        integration = integration_token_rotate(
            integration_id=self.get_object().pk, actor_id=request.user.pk
        )
        return Response(self.get_serializer(integration).data)

    def perform_create(self, serializer: BaseSerializer[Integration]) -> None:
        fields = dict(serializer.validated_data)
        serializer.instance = integration_save(integration=None, fields=fields)

    def perform_update(self, serializer: BaseSerializer[Integration]) -> None:
        fields = dict(serializer.validated_data)
        serializer.instance = integration_save(integration=serializer.instance, fields=fields)

    def perform_destroy(self, instance: Integration) -> None:
        integration_delete(integration=instance)


class EscalationPolicyViewSet(viewsets.ModelViewSet):
    serializer_class = s.EscalationPolicySerializer
    permission_classes = [IsStaffOrReadOnly]

    def get_queryset(self) -> QuerySet[EscalationPolicy]:
        return (
            EscalationPolicy.objects.select_related("current_version")
            .prefetch_related(
                Prefetch(
                    "steps",
                    queryset=EscalationStep.objects.order_by("position").prefetch_related(
                        "targets"
                    ),
                ),
                Prefetch(
                    "unresolved_steps",
                    queryset=UnresolvedStep.objects.order_by("after_minutes", "id"),
                ),
            )
            .order_by("name")
        )

    def _save(self, request: Request, instance: EscalationPolicy | None, partial: bool) -> Response:
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        steps = data.pop("steps", None)
        unresolved = data.pop("unresolved_steps", None)
        try:
            policy = policy_save(
                policy=instance,
                fields=data,
                steps=step_specs_from_data(steps) if steps is not None else None,
                unresolved=(
                    unresolved_specs_from_data(unresolved) if unresolved is not None else None
                ),
                actor_id=engineer_id_for_user(request.user),
            )
        except PolicyError as exc:
            return Response({exc.path: [exc.problem]}, status=status.HTTP_400_BAD_REQUEST)
        policy = self.get_queryset().get(pk=policy.pk)
        code = status.HTTP_201_CREATED if instance is None else status.HTTP_200_OK
        return Response(self.get_serializer(policy).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._save(request, None, partial=False)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._save(request, self.get_object(), partial=kwargs.get("partial", False))

    def perform_destroy(self, instance: EscalationPolicy) -> None:
        policy_delete(policy=instance)

    @extend_schema(
        request=None,
        responses=inline_serializer(
            "PolicyApplyToOpen",
            {"version": serializers.IntegerField(), "moved": serializers.IntegerField()},
        ),
    )
    @action(detail=True, methods=["post"], url_path="apply-to-open")
    def apply_to_open(self, request: Request, pk: str | None = None) -> Response:
        """Move open incidents on older versions of this policy to the current one."""
        policy = self.get_object()
        result = policy_version_apply_to_open(
            policy_id=policy.pk, actor_id=engineer_id_for_user(request.user), via="api"
        )
        return Response({"version": result.version.number, "moved": result.moved})


class PriorityLevelViewSet(viewsets.ModelViewSet):
    """Priority levels, by number (``/priority-levels/1/`` is P1). While none is
    configured the list shows the defaults in use (``configured: false``); once one is,
    exactly the configured levels are in use."""

    serializer_class = s.PriorityLevelSerializer
    permission_classes = [IsStaffOrReadOnly]
    queryset = PriorityLevel.objects.order_by("level")
    lookup_field = "level"
    lookup_value_regex = "[1-5]"

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        levels = self.paginate_queryset(list(self.get_queryset()) or list(DEFAULT_LEVELS))
        return self.get_paginated_response(self.get_serializer(levels, many=True).data)

    def perform_create(self, serializer: BaseSerializer[PriorityLevel]) -> None:
        fields = dict(serializer.validated_data)
        serializer.instance = priority_level_save(level=None, fields=fields)

    def perform_update(self, serializer: BaseSerializer[PriorityLevel]) -> None:
        fields = dict(serializer.validated_data)
        serializer.instance = priority_level_save(level=serializer.instance, fields=fields)

    def perform_destroy(self, instance: PriorityLevel) -> None:
        priority_level_delete(level=instance)


class IncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Incidents are created by alerts; people act on them through the actions below."""

    permission_classes = [IsAuthenticated]

    def get_serializer_class(self) -> type[s.IncidentSerializer]:
        return s.IncidentDetailSerializer if self.action != "list" else s.IncidentSerializer

    def get_queryset(self) -> QuerySet[Incident]:
        qs = Incident.objects.select_related("service").order_by("-created_at", "-id")
        if self.action == "list":
            filters = s.IncidentFilterSerializer(data=self.request.query_params)
            filters.is_valid(raise_exception=True)
            f = filters.validated_data
            if "status" in f:
                qs = qs.filter(status__in=f["status"])
            if "service" in f:
                qs = qs.filter(service_id=f["service"])
            if "team" in f:
                qs = qs.filter(service__team_id=f["team"])
            if "urgency" in f:
                qs = qs.filter(urgency=f["urgency"])
            if "priority" in f:
                graded = [p for p in f["priority"] if p is not None]
                ungraded = Q(priority__isnull=True) if None in f["priority"] else Q(pk__in=[])
                qs = qs.filter(Q(priority__in=graded) | ungraded)
            if f.get("suppressed") is not None:
                qs = (
                    qs.exclude(suppressed_by="") if f["suppressed"] else qs.filter(suppressed_by="")
                )
            if "created_after" in f:
                qs = qs.filter(created_at__gte=f["created_after"])
            if "created_before" in f:
                qs = qs.filter(created_at__lt=f["created_before"])
            return qs
        return qs.select_related("escalation_version").prefetch_related(
            "alerts",
            "assigned_to",
            Prefetch("events", queryset=IncidentEvent.objects.select_related("actor")),
        )

    def _detail(self, pk: int, **extra: Any) -> Response:
        incident = self.get_queryset().get(pk=pk)
        detail = s.IncidentDetailSerializer(incident, context=self.get_serializer_context())
        return Response({**detail.data, **extra})

    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        result = incident_acknowledge(
            incident_id=incident.pk, engineer_id=engineer_id_for_user(request.user), via="api"
        )
        return self._detail(incident.pk, changed=result.changed)

    @extend_schema(request=s.ResolveSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        body = s.ResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = incident_resolve(
            incident_id=incident.pk,
            engineer_id=engineer_id_for_user(request.user),
            via="api",
            resolution=body.validated_data["resolution"],
        )
        return self._detail(incident.pk, changed=result.changed)

    @action(detail=True, methods=["post"])
    def escalate(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        result = incident_escalate_now(
            incident_id=incident.pk, engineer_id=engineer_id_for_user(request.user), via="api"
        )
        return self._detail(incident.pk, changed=result.changed)

    @action(detail=True, methods=["post"])
    def reassign(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        body = s.ReassignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            incident_reassign(
                incident_id=incident.pk,
                engineer_ids=body.validated_data.get("engineer_ids"),
                policy_id=body.validated_data.get("policy_id"),
                by_engineer_id=engineer_id_for_user(request.user),
                via="api",
            )
        except IncidentActionError as exc:
            return Response({"status": [str(exc)]}, status=status.HTTP_409_CONFLICT)
        return self._detail(incident.pk, changed=True)

    @extend_schema(request=s.PrioritySerializer, responses=s.IncidentDetailSerializer)
    @action(detail=True, methods=["post"])
    def priority(self, request: Request, pk: str | None = None) -> Response:
        """Set the priority (``{"priority": "P1"}``; a level's name or 1..5 too; null
        clears it). A triggered incident may move to the policy its service has for the
        new priority (``escalation_policy_moved``)."""
        incident = self.get_object()
        body = s.PrioritySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            result = incident_set_priority(
                incident_id=incident.pk,
                priority=body.validated_data["priority"],
                engineer_id=engineer_id_for_user(request.user),
                via="api",
            )
        except PriorityInvalid as exc:  # the levels changed since the body was read
            return Response({"priority": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        return self._detail(
            incident.pk, changed=result.changed, escalation_policy_moved=result.moved_to is not None
        )

    @action(detail=True, methods=["post"])
    def notes(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        body = s.NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        event = incident_add_note(
            incident_id=incident.pk,
            text=body.validated_data["text"],
            engineer_id=engineer_id_for_user(request.user),
            via="api",
        )
        return Response(s.IncidentEventSerializer(event).data, status=status.HTTP_201_CREATED)


class ChangeEventViewSet(viewsets.ReadOnlyModelViewSet):
    """Changes (deploys, config changes) sent to ``/v2/change/enqueue``, newest first.

    Filters: ``service``, ``integration``, ``occurred_after`` / ``occurred_before``
    (ISO 8601). Incidents show the ones of their service shortly before they opened
    (``recent_changes``).
    """

    serializer_class = s.ChangeEventSerializer
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[s.ChangeEventFilterSerializer])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[ChangeEvent]:
        qs = ChangeEvent.objects.order_by("-occurred_at", "-id")
        if self.action != "list":
            return qs
        filters = s.ChangeEventFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        lookups = {
            "service": "service_id",
            "integration": "integration_id",
            "occurred_after": "occurred_at__gte",
            "occurred_before": "occurred_at__lt",
        }
        return qs.filter(**{lookups[name]: v for name, v in filters.validated_data.items()})


class MessageViewSet(viewsets.ReadOnlyModelViewSet):
    """Outgoing messages (pages, codes, reminders, notices) and what became of them.

    Staff only: destinations are people's phone numbers and addresses. Filters:
    ``incident``, ``engineer``, ``status``, ``kind``, ``purpose`` (comma-separated
    lists), ``created_after``/``created_before``, ``sent_after``/``sent_before``.
    """

    serializer_class = s.MessageSerializer
    permission_classes = [IsAdminUser]

    @extend_schema(parameters=[s.MessageFilterSerializer])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Message]:
        qs = Message.objects.order_by("-created_at", "-id")
        if self.action != "list":
            return qs
        filters = s.MessageFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        f = filters.validated_data
        lookups = {
            "incident": "incident_id",
            "engineer": "engineer_id",
            "status": "status__in",
            "kind": "kind__in",
            "purpose": "purpose__in",
            "created_after": "created_at__gte",
            "created_before": "created_at__lt",
            "sent_after": "sent_at__gte",
            "sent_before": "sent_at__lt",
        }
        return qs.filter(**{lookups[name]: value for name, value in f.items()})
