"""The post-incident review draft includes roles, status updates and action items; the
analytics dashboard lists overdue action items."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from rest_framework.test import APIClient

from paging.response.services import (
    action_item_create,
    action_item_update,
    incident_publish,
    incident_role_assign,
    status_update_post,
)
from tests.response.conftest import Cast

pytestmark = pytest.mark.django_db


@pytest.fixture
def responded(cast: Cast) -> Cast:
    n = cast.incident.pk
    incident_role_assign(incident_id=n, role="commander", engineer_id=cast.alice.pk)
    status_update_post(incident_id=n, state="investigating", text="Looking at the database")
    incident_publish(incident_id=n, public_title="Payments failing")
    status_update_post(incident_id=n, state="resolved", text="Disk expanded")
    action_item_create(
        incident_id=n,
        title="Alert on disk at 80%",
        owner_id=cast.priya.pk,
        due_date=date(2026, 3, 1),
    )
    done = action_item_create(incident_id=n, title="Write the runbook", due_date=date(2026, 3, 9))
    action_item_update(item_id=done.pk, done=True)
    action_item_create(incident_id=n, title="Review the capacity plan")
    return cast


def test_review_has_roles_updates_and_action_items(responded: Cast) -> None:
    api = APIClient()
    api.force_authenticate(responded.lena.user)
    md = api.get(f"/api/v1/incidents/{responded.incident.pk}/review/").content.decode()
    roles = md.split("## Roles\n\n")[1].split("\n## ")[0]
    assert roles.strip().splitlines() == [
        "- **Incident commander:** Alice",
        "- **Communications lead:** nobody",
    ]
    updates = md.split("## Status updates (UTC)\n\n")[1].split("\n## ")[0]
    assert updates.strip().splitlines() == [
        "- 2026-03-02 03:00:00 UTC **Investigating**: Looking at the database",
        "- 2026-03-02 03:00:00 UTC **Resolved** (public): Disk expanded",
    ]
    items = md.split("## Action items\n\n")[1]
    assert items.strip().splitlines() == [
        "- [ ] Alert on disk at 80% — owner: Priya, due: 2026-03-01 **(overdue)**",
        "- [ ] Review the capacity plan — owner: nobody, due: no date",
        "- [x] Write the runbook — owner: nobody, due: 2026-03-09",
    ]


def test_dashboard_lists_overdue_action_items(responded: Cast, clock) -> None:
    clock.shift(timedelta(days=20))  # the runbook is done; the capacity plan has no date
    client = Client()
    client.force_login(responded.lena.user)
    html = client.get("/analytics/").content.decode()
    table = html.split('id="overdue-items"')[1].split("</table>")[0]
    assert "Alert on disk at 80%" in table and "Priya" in table
    assert "<td>21</td>" in table  # days overdue (due 1 March, now 21 March)
    assert "Write the runbook" not in table and "capacity plan" not in table
