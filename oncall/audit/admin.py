"""The audit trail in the admin: read-only, filterable by actor, object, action and time."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from oncall.admin_read_only import ReadOnlyMixin
from oncall.audit.models import AuditEntry


def changes_table(changes: dict[str, Any]) -> str:
    """{field: [before, after]} as a small before → after table (also the History pages)."""
    if not changes:
        return ""
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
        ((name, _text(pair, 0), _text(pair, 1)) for name, pair in sorted(changes.items())),
    )
    return format_html(
        '<table class="audit-changes"><tr><th>field</th><th>before</th><th>after</th></tr>'
        "{}</table>",
        rows,
    )


def _text(pair: Any, index: int) -> str:
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        return str(pair) if index == 1 else ""
    value = pair[index]
    return "—" if value is None else str(value)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["seq", "at", "actor_label", "action", "object_type", "object_repr"]
    list_filter = [
        "actor_kind",
        ("actor_user", admin.RelatedOnlyFieldListFilter),
        "action",
        "object_type",
        "at",
    ]
    search_fields = ["actor_label", "object_repr", "object_id", "note"]
    date_hierarchy = "at"
    readonly_fields = [
        name if name != "changes" else "changes_shown" for name in AuditEntry.COLUMNS
    ]
    fields = readonly_fields

    @admin.display(description="changes")
    def changes_shown(self, obj: AuditEntry) -> str:
        return changes_table(obj.changes)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # The History pages link here with ?object_type=…&object_id=….
        return lookup in ("object_id", "actor_user") or super().lookup_allowed(
            lookup, value, request
        )
