"""The analytics settings' admin pages write through services, recorded in the audit
trail like every other admin write (issue 14, part 3); before, the admin saved the rows
itself and nothing was recorded."""

from __future__ import annotations

import pytest
from django.test import Client

from analytics.models import ReviewTemplate, SlaTarget
from oncall.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_sla_target_add_change_delete_are_audited(admin_client_: Client) -> None:
    added = admin_client_.post(
        "/admin/analytics/slatarget/add/",
        {"urgency": "low", "ack_within_minutes": "30", "resolve_within_minutes": ""},
    )
    assert added.status_code == 302, added.content.decode()[:2000]
    target = SlaTarget.objects.get(urgency="low")
    admin_client_.post(
        f"/admin/analytics/slatarget/{target.pk}/change/",
        {"urgency": "low", "ack_within_minutes": "20", "resolve_within_minutes": "240"},
    )
    admin_client_.post(
        "/admin/analytics/slatarget/",
        {"action": "delete_selected", "_selected_action": [target.pk], "post": "yes"},
    )
    assert not SlaTarget.objects.exists()
    entries = AuditEntry.objects.filter(object_type="analytics.slatarget").order_by("id")
    assert [(e.action, e.actor_kind) for e in entries] == [
        ("create", "user"),
        ("update", "user"),
        ("delete", "user"),
    ]
    assert entries[1].changes["ack_within_minutes"] == [30, 20]


def test_review_template_edit_is_audited(admin_client_: Client) -> None:
    response = admin_client_.post(
        "/admin/analytics/reviewtemplate/add/", {"name": "default", "body": "# {{ incident }}"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    template = ReviewTemplate.objects.get()
    entry = AuditEntry.objects.get(object_type="analytics.reviewtemplate")
    assert (entry.action, entry.object_id) == ("create", str(template.pk))
