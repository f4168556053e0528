"""``/api/v1/webhooks/``: outgoing webhooks (staff only: they hold signing secrets).

The secret is written in full and read back masked (``…`` and its last 4 characters),
as the audit trail shows it. Bad input is a 400 naming the field; writes go through
``webhook_endpoint_save``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response

from oncall.api.errors import ServiceErrorsMixin
from oncall.security.secrets import secret_mask
from paging.channels.webhooks.models import EVENTS, WebhookDelivery, WebhookEndpoint
from paging.channels.webhooks.services import webhook_endpoint_delete, webhook_endpoint_save
from paging.models import Service


class WebhookEndpointSerializer(serializers.ModelSerializer):
    service = serializers.PrimaryKeyRelatedField(
        queryset=Service.objects.all(),
        allow_null=True,
        required=False,
        help_text="The service whose incidents are sent; null: every service's.",
    )
    secret = serializers.CharField(
        write_only=True,
        required=False,
        max_length=255,
        help_text="HMAC-SHA256 key of X-Oncall-Signature (at least 16 characters); "
        "read back masked as secret_hint.",
    )
    secret_hint = serializers.SerializerMethodField()
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENTS),
        required=False,
        help_text=f"Which events ({', '.join(EVENTS)}); empty: all.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "name",
            "service",
            "url",
            "secret",
            "secret_hint",
            "enabled",
            "events",
            "enabled_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["enabled_at", "created_at", "updated_at"]
        # Checked by the service (one set of rules for the API, the admin and the file).
        extra_kwargs = {"name": {"validators": []}, "url": {"validators": []}}

    def get_secret_hint(self, obj: WebhookEndpoint) -> str:
        return secret_mask(obj.secret)


class WebhookDeliverySerializer(serializers.ModelSerializer):
    """One event queued for a webhook and what became of it (its outbox row)."""

    id = serializers.UUIDField(source="delivery_id", read_only=True)
    status = serializers.CharField(source="message.status", read_only=True)
    attempts = serializers.IntegerField(source="message.attempts", read_only=True)
    last_error = serializers.CharField(source="message.last_error", read_only=True)
    due_at = serializers.DateTimeField(source="message.due_at", read_only=True)
    sent_at = serializers.DateTimeField(source="message.sent_at", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "incident",
            "status",
            "attempts",
            "last_error",
            "due_at",
            "sent_at",
            "created_at",
        ]
        read_only_fields = fields


class WebhookEndpointViewSet(ServiceErrorsMixin, viewsets.ModelViewSet):
    serializer_class = WebhookEndpointSerializer
    permission_classes = [IsAdminUser]
    queryset = WebhookEndpoint.objects.select_related("service").order_by("name")

    def _save(
        self, serializer: WebhookEndpointSerializer, endpoint: WebhookEndpoint | None
    ) -> None:
        fields: dict[str, Any] = dict(serializer.validated_data)
        serializer.instance = webhook_endpoint_save(endpoint=endpoint, fields=fields)

    def perform_create(self, serializer: WebhookEndpointSerializer) -> None:
        self._save(serializer, None)

    def perform_update(self, serializer: WebhookEndpointSerializer) -> None:
        self._save(serializer, serializer.instance)

    def perform_destroy(self, instance: WebhookEndpoint) -> None:
        webhook_endpoint_delete(endpoint=instance)

    @extend_schema(request=None, responses=WebhookDeliverySerializer(many=True))
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        """The events queued for this webhook, newest first: status, attempts, last error."""
        rows = (
            WebhookDelivery.objects.filter(endpoint=self.get_object())
            .select_related("message")
            .order_by("-created_at", "-id")
        )
        page = self.paginate_queryset(rows)
        data = WebhookDeliverySerializer(page if page is not None else rows, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)
