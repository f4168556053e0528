"""Incident response API: parse, call a service in ``paging.response.services``, present.

- ``GET/POST /api/v1/incidents/{id}/roles/`` — ``{"role": "commander", "engineer": 7}``
  (``null`` clears the role)
- ``GET/POST /api/v1/incidents/{id}/status-updates/`` — ``{"state": "identified",
  "text": "…"}``; the answer names who was told
- ``GET/POST /api/v1/incidents/{id}/public/`` — ``{"public_title": "…"}``
- ``GET/POST /api/v1/incidents/{id}/action-items/`` — ``{"title", "owner", "due_date"}``
- ``GET /api/v1/action-items/?overdue=true&done=false``, ``GET/PATCH /api/v1/action-items/{id}/``
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oncall.api.errors import ServiceErrorsMixin
from oncall.people.selectors import engineer_id_for_user
from paging.models import Incident
from paging.response.models import ActionItem, IncidentPublication, IncidentRole, StatusUpdate
from paging.response.services import (
    UNSET,
    action_item_create,
    action_item_update,
    incident_publish,
    incident_role_assign,
    status_update_post,
)

VIA = "api"


class RoleSerializer(serializers.ModelSerializer):
    engineer_name = serializers.CharField(source="engineer.display_name", default=None)

    class Meta:
        model = IncidentRole
        fields = ["role", "engineer", "engineer_name", "assigned_at", "assigned_by", "via"]


class RoleInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=IncidentRole.Role.choices)
    engineer = serializers.IntegerField(allow_null=True, min_value=1)


class StatusUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = StatusUpdate
        fields = ["id", "state", "text", "public", "at", "actor", "via"]


class StatusUpdateInput(serializers.Serializer):
    state = serializers.ChoiceField(choices=StatusUpdate.State.choices)
    text = serializers.CharField(max_length=2000)


class PublicationSerializer(serializers.ModelSerializer):
    class Meta:
        model = IncidentPublication
        fields = ["public_title", "published_at", "published_by", "via"]


class PublicInput(serializers.Serializer):
    public_title = serializers.CharField(max_length=200)


class ActionItemSerializer(serializers.ModelSerializer):
    owner_name = serializers.CharField(source="owner.display_name", default=None)
    done = serializers.BooleanField(read_only=True)
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = ActionItem
        fields = [
            "id",
            "incident",
            "title",
            "owner",
            "owner_name",
            "due_date",
            "done",
            "done_at",
            "overdue",
            "created_at",
            "created_by",
        ]

    def get_overdue(self, item: ActionItem) -> bool:
        return item.done_at is None and item.due_date is not None and item.due_date < _today()


class ActionItemInput(serializers.Serializer):
    title = serializers.CharField(max_length=500)
    owner = serializers.IntegerField(allow_null=True, min_value=1, required=False)
    due_date = serializers.DateField(allow_null=True, required=False)
    done = serializers.BooleanField(required=False)


class ActionItemFilter(serializers.Serializer):
    done = serializers.BooleanField(required=False, allow_null=True, default=None)
    overdue = serializers.BooleanField(required=False, default=False)
    owner = serializers.IntegerField(required=False, min_value=1)
    incident = serializers.IntegerField(required=False, min_value=1)


def _today() -> Any:
    return timezone.now().date()


class _IncidentView(ServiceErrorsMixin, APIView):
    permission_classes = [IsAuthenticated]

    def incident(self, pk: int) -> Incident:
        return get_object_or_404(Incident, pk=pk)

    def engineer_id(self, request: Request) -> int | None:
        return engineer_id_for_user(request.user)

    def incident_and_body(
        self, request: Request, pk: int, body_class: type[serializers.Serializer]
    ) -> tuple[Incident, dict[str, Any]]:
        """The incident (404 when there is none) and the request body, validated by
        ``body_class`` (a 400 naming the field when it is not valid)."""
        incident = self.incident(pk)
        body = body_class(data=request.data)
        body.is_valid(raise_exception=True)
        return incident, body.validated_data


class IncidentRolesView(_IncidentView):
    @extend_schema(responses=RoleSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        roles = IncidentRole.objects.filter(incident=self.incident(pk)).select_related("engineer")
        return Response(RoleSerializer(roles, many=True).data)

    @extend_schema(request=RoleInput, responses=RoleSerializer)
    def post(self, request: Request, pk: int) -> Response:
        incident, data = self.incident_and_body(request, pk, RoleInput)
        result = incident_role_assign(
            incident_id=incident.pk,
            role=data["role"],
            engineer_id=data["engineer"],
            by_engineer_id=self.engineer_id(request),
            via=VIA,
        )
        return Response({**RoleSerializer(result.role).data, "changed": result.changed})


class IncidentStatusUpdatesView(_IncidentView):
    @extend_schema(responses=StatusUpdateSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        updates = StatusUpdate.objects.filter(incident=self.incident(pk))
        return Response(StatusUpdateSerializer(updates, many=True).data)

    @extend_schema(request=StatusUpdateInput, responses=StatusUpdateSerializer)
    def post(self, request: Request, pk: int) -> Response:
        incident, data = self.incident_and_body(request, pk, StatusUpdateInput)
        result = status_update_post(
            incident_id=incident.pk,
            state=data["state"],
            text=data["text"],
            engineer_id=self.engineer_id(request),
            via=VIA,
        )
        told = result.notified
        return Response(
            {
                **StatusUpdateSerializer(result.update).data,
                "notified": {
                    "people": told.people,
                    "slack_channels": told.channels,
                    "unreachable": told.unreachable,
                },
            },
            status=status.HTTP_201_CREATED,
        )


class IncidentPublicView(_IncidentView):
    @extend_schema(responses=PublicationSerializer)
    def get(self, request: Request, pk: int) -> Response:
        publication = IncidentPublication.objects.filter(incident=self.incident(pk)).first()
        if publication is None:
            return Response({"public": False})
        return Response({"public": True, **PublicationSerializer(publication).data})

    @extend_schema(request=PublicInput, responses=PublicationSerializer)
    def post(self, request: Request, pk: int) -> Response:
        incident, data = self.incident_and_body(request, pk, PublicInput)
        result = incident_publish(
            incident_id=incident.pk,
            public_title=data["public_title"],
            engineer_id=self.engineer_id(request),
            via=VIA,
        )
        return Response(
            {
                "public": True,
                "changed": result.changed,
                **PublicationSerializer(result.publication).data,
            }
        )


class IncidentActionItemsView(_IncidentView):
    @extend_schema(responses=ActionItemSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        items = (
            ActionItem.objects.filter(incident=self.incident(pk))
            .select_related("owner")
            .order_by(*ActionItem.ORDER)
        )
        return Response(ActionItemSerializer(items, many=True).data)

    @extend_schema(request=ActionItemInput, responses=ActionItemSerializer)
    def post(self, request: Request, pk: int) -> Response:
        incident, data = self.incident_and_body(request, pk, ActionItemInput)
        item = action_item_create(
            incident_id=incident.pk,
            title=data["title"],
            owner_id=data.get("owner"),
            due_date=data.get("due_date"),
            engineer_id=self.engineer_id(request),
            via=VIA,
        )
        return Response(ActionItemSerializer(item).data, status=status.HTTP_201_CREATED)


class ActionItemListView(ServiceErrorsMixin, generics.ListAPIView):
    """Action items across incidents: ``?done=false``, ``?overdue=true`` (open and past
    their due date), ``?owner=<engineer id>``, ``?incident=<id>``."""

    permission_classes = [IsAuthenticated]
    serializer_class = ActionItemSerializer

    def get_queryset(self) -> QuerySet[ActionItem]:
        f = ActionItemFilter(data=self.request.query_params)
        f.is_valid(raise_exception=True)
        qs = ActionItem.objects.select_related("owner").order_by("due_date", "id")
        data = f.validated_data
        if data.get("done") is not None:
            qs = qs.filter(done_at__isnull=not data["done"])
        if data.get("overdue"):
            qs = qs.filter(done_at__isnull=True, due_date__lt=_today())
        if "owner" in data:
            qs = qs.filter(owner_id=data["owner"])
        if "incident" in data:
            qs = qs.filter(incident_id=data["incident"])
        return qs


class ActionItemView(ServiceErrorsMixin, APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=ActionItemSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(ActionItemSerializer(get_object_or_404(ActionItem, pk=pk)).data)

    @extend_schema(request=ActionItemInput, responses=ActionItemSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        item = get_object_or_404(ActionItem, pk=pk)
        body = ActionItemInput(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        item = action_item_update(
            item_id=item.pk,
            title=data.get("title", UNSET),
            owner_id=data.get("owner", UNSET),
            due_date=data.get("due_date", UNSET),
            done=data.get("done", UNSET),
            engineer_id=engineer_id_for_user(request.user),
            via=VIA,
        )
        return Response(ActionItemSerializer(item).data)
