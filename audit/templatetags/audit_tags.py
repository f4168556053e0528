"""``{% audit_entries_for object %}``: an object's audit trail, for its History page."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Model

from audit.admin import changes_table
from audit.models import AuditEntry
from audit.snapshots import object_type

register = template.Library()

# A History page shows the newest entries; the full list is in the audit admin.
HISTORY_LIMIT = 200


@register.inclusion_tag("admin/audit_entries.html")
def audit_entries_for(obj: Model) -> dict[str, Any]:
    kind = object_type(obj)
    entries = AuditEntry.objects.filter(object_type=kind, object_id=str(obj.pk)).order_by("-seq")
    return {
        "entries": [(e, changes_table(e.changes)) for e in entries[:HISTORY_LIMIT]],
        "object_type": kind,
        "object_id": obj.pk,
    }
