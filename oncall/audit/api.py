"""``/api/v1/audit/``: the audit trail for staff, filtered, as JSON pages or one CSV file."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from oncall.api.params import id_field
from oncall.api.renderers import CSVRenderer
from oncall.audit.models import AuditEntry

CSV_COLUMNS = list(AuditEntry.COLUMNS)


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = CSV_COLUMNS


class AuditFilterSerializer(serializers.Serializer):
    actor_kind = serializers.ChoiceField(choices=AuditEntry.ActorKind.choices, required=False)
    actor_user = id_field(required=False)
    actor = serializers.CharField(max_length=255, required=False, help_text="part of the label")
    object_type = serializers.CharField(max_length=64, required=False, help_text="app.model")
    object_id = serializers.CharField(max_length=64, required=False)
    action = serializers.CharField(max_length=32, required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)

    FILTERS = {
        "actor_kind": "actor_kind",
        "actor_user": "actor_user_id",
        "actor": "actor_label__icontains",
        "object_type": "object_type",
        "object_id": "object_id",
        "action": "action",
        "since": "at__gte",
        "until": "at__lt",
    }


def _csv_value(entry: AuditEntry, name: str) -> Any:
    if name == "at":
        return entry.at.isoformat()
    if name == "actor_user":
        return entry.actor_user_id or ""
    if name == "changes":
        return json.dumps(entry.changes, sort_keys=True, ensure_ascii=False)
    return getattr(entry, name)


def _csv_lines(entries: QuerySet[AuditEntry]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")

    def line(row: list[Any]) -> str:
        buf.seek(0)
        buf.truncate()
        writer.writerow(row)
        return buf.getvalue()

    yield line(CSV_COLUMNS)
    for e in entries.iterator(chunk_size=2000):
        yield line([_csv_value(e, name) for name in CSV_COLUMNS])


@extend_schema(parameters=[AuditFilterSerializer])
class AuditEntryList(generics.ListAPIView):
    """Newest first. Filters: actor_kind, actor_user (user id), actor (part of the label),
    object_type (``schedules.schedule``), object_id, action, since, until. ``?format=csv``
    (or ``/api/v1/audit.csv``) answers every matching entry as one CSV file."""

    permission_classes = [IsAdminUser]
    serializer_class = AuditEntrySerializer
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, CSVRenderer]

    def get_queryset(self) -> QuerySet[AuditEntry]:
        params = AuditFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        lookups = {
            AuditFilterSerializer.FILTERS[name]: value
            for name, value in params.validated_data.items()
        }
        return AuditEntry.objects.filter(**lookups).order_by("-seq")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if request.accepted_renderer.format != "csv":
            return super().list(request, *args, **kwargs)
        response = StreamingHttpResponse(
            _csv_lines(self.get_queryset()), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="audit.csv"'
        return response  # type: ignore[return-value]
