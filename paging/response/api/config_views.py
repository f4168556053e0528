"""Incident response configuration over the API (staff): who is told of a service's status
updates, and the status page's groups. Writes go through ``paging.response.services``,
as the admin's and the config file's do.

- ``/api/v1/stakeholder-subscriptions/`` — list, create ``{"service", "engineer"}`` or
  ``{"service", "slack_channel"}``, delete (``?service=`` filters)
- ``/api/v1/status-page-groups/`` — list, create, change ``{"name", "description",
  "position", "services": [ids]}``, delete
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import mixins, serializers, viewsets
from rest_framework.permissions import IsAdminUser
from rest_framework.serializers import BaseSerializer

from oncall.api.errors import ServiceErrorsMixin
from oncall.api.params import int_param
from oncall.people.models import Engineer
from paging.models import Service
from paging.response.models import StakeholderSubscription, StatusPageGroup
from paging.response.services import (
    stakeholder_subscription_create,
    stakeholder_subscription_delete,
    status_group_delete,
    status_group_save,
)


class StakeholderSubscriptionSerializer(serializers.ModelSerializer):
    service = serializers.PrimaryKeyRelatedField(queryset=Service.objects.all())
    engineer = serializers.PrimaryKeyRelatedField(
        queryset=Engineer.objects.all(),
        allow_null=True,
        required=False,
        help_text="A person told through the start of their low-urgency ladder; or give "
        "slack_channel instead.",
    )
    slack_channel = serializers.CharField(
        required=False, allow_blank=True, max_length=64, help_text="A Slack channel id (C…)."
    )

    class Meta:
        model = StakeholderSubscription
        fields = ["id", "service", "engineer", "slack_channel", "created_at"]
        read_only_fields = ["created_at"]
        # The service checks uniqueness and "exactly one of engineer / slack_channel".
        validators: list[Any] = []


class StakeholderSubscriptionViewSet(
    ServiceErrorsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = StakeholderSubscriptionSerializer
    permission_classes = [IsAdminUser]

    def get_queryset(self) -> QuerySet[StakeholderSubscription]:
        rows = StakeholderSubscription.objects.order_by("service_id", "id")
        service = int_param(self.request, "service")
        return rows.filter(service_id=service) if service is not None else rows

    def perform_create(self, serializer: BaseSerializer[StakeholderSubscription]) -> None:
        data = serializer.validated_data
        serializer.instance = stakeholder_subscription_create(
            service=data["service"],
            engineer=data.get("engineer"),
            slack_channel=data.get("slack_channel", ""),
        )

    def perform_destroy(self, instance: StakeholderSubscription) -> None:
        stakeholder_subscription_delete(subscription=instance)


class StatusPageGroupSerializer(serializers.ModelSerializer):
    services = serializers.PrimaryKeyRelatedField(
        queryset=Service.objects.all(),
        many=True,
        required=False,
        help_text="The services whose public incidents this group shows.",
    )

    class Meta:
        model = StatusPageGroup
        fields = ["id", "name", "description", "position", "services"]
        # The service checks the name's uniqueness (one rule for the API, admin and file).
        extra_kwargs: dict[str, dict[str, Any]] = {"name": {"validators": []}}


class StatusPageGroupViewSet(ServiceErrorsMixin, viewsets.ModelViewSet):
    serializer_class = StatusPageGroupSerializer
    permission_classes = [IsAdminUser]
    queryset = StatusPageGroup.objects.prefetch_related("services").order_by("position", "name")

    def _save(
        self, serializer: BaseSerializer[StatusPageGroup], group: StatusPageGroup | None
    ) -> None:
        data = serializer.validated_data

        def given(name: str, default: Any) -> Any:
            # A PATCH leaves out what it does not change.
            return data.get(name, getattr(group, name) if group is not None else default)

        serializer.instance = status_group_save(
            group=group,
            name=given("name", ""),
            description=given("description", ""),
            position=given("position", 0),
            services=data.get("services"),
        )

    def perform_create(self, serializer: BaseSerializer[StatusPageGroup]) -> None:
        self._save(serializer, None)

    def perform_update(self, serializer: BaseSerializer[StatusPageGroup]) -> None:
        self._save(serializer, serializer.instance)

    def perform_destroy(self, instance: StatusPageGroup) -> None:
        status_group_delete(group=instance)
