"""``{% audit_entries_for object %}``: an object's audit trail, for its History page: its
own entries and those of the objects that belong to it (a schedule's layers and
overrides, an engineer's contact methods and rules, a service's integrations…)."""

from __future__ import annotations

from typing import Any

from django import template
from django.apps import apps
from django.db.models import Model, Q

from oncall.audit.admin import changes_table
from oncall.audit.models import AuditEntry
from oncall.audit.snapshots import object_type

register = template.Library()

# A History page shows the newest entries; the full list is in the audit admin.
HISTORY_LIMIT = 200


def _what(entry: AuditEntry) -> str:
    try:
        name = apps.get_model(entry.object_type)._meta.verbose_name
    except (LookupError, ValueError):
        name = entry.object_type
    return f"{name} {entry.object_repr}"


@register.inclusion_tag("admin/audit_entries.html")
def audit_entries_for(obj: Model) -> dict[str, Any]:
    kind, pk = object_type(obj), str(obj.pk)
    own = f"this {obj._meta.verbose_name}"
    entries = AuditEntry.objects.filter(
        Q(object_type=kind, object_id=pk) | Q(parent=f"{kind}:{pk}")
    ).order_by("-seq")[:HISTORY_LIMIT]
    return {
        "entries": [
            (
                e,
                changes_table(e.changes),
                own if (e.object_type, e.object_id) == (kind, pk) else _what(e),
            )
            for e in entries
        ],
        "object_type": kind,
        "object_id": obj.pk,
    }
