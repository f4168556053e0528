"""For admins of audited models: bulk actions go through the same service as one row."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest


class DeleteEachMixin:
    """ "Delete selected" deletes row by row through ``delete_model`` (which calls the
    model's delete service), instead of one bulk DELETE that bypasses the audit trail."""

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)  # type: ignore[attr-defined]
