"""Schedule.swaps_need_approval and time_off_needs_approval are set through the API
(team admins) and config as code (apply, change, export round trip), and audited."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
import yaml

from oncall.audit.models import AuditEntry
from oncall.config.apply import config_apply, config_export
from schedules.models import Schedule
from tests.schedules.test_api import client_for, world  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

DOC = """
teams:
  - slug: platform
    name: Platform
schedules:
  - team: platform
    name: Primary
    swaps_need_approval: {flag}
    time_off_needs_approval: {flag}
"""


def test_the_api_sets_and_shows_the_setting(world):  # noqa: F811
    admin = client_for(world["admin"].user)
    r = admin.post(
        "/api/v1/schedules/",
        {
            "team": world["team"].id,
            "name": "Gated",
            "swaps_need_approval": True,
            "time_off_needs_approval": True,
        },
        format="json",
    )
    assert r.status_code == 201, r.data
    assert r.data["swaps_need_approval"] is True and r.data["time_off_needs_approval"] is True
    r = admin.patch(
        f"/api/v1/schedules/{r.data['id']}/", {"swaps_need_approval": False}, format="json"
    )
    assert r.status_code == 200 and r.data["swaps_need_approval"] is False
    schedule = Schedule.objects.get(name="Gated")
    assert schedule.swaps_need_approval is False
    update = AuditEntry.objects.filter(object_id=str(schedule.pk), action="update").get()
    assert update.changes["swaps_need_approval"] == [True, False]
    r = admin.patch(
        f"/api/v1/schedules/{schedule.pk}/", {"swaps_need_approval": "maybe"}, format="json"
    )
    assert r.status_code == 400 and "swaps_need_approval" in r.data


def test_config_applies_changes_and_exports_the_setting():
    with time_machine.travel(datetime(2026, 3, 2, 12, tzinfo=UTC), tick=False):
        config_apply(file="oncall.yaml", text=DOC.format(flag="true"))
        schedule = Schedule.objects.get()
        assert schedule.swaps_need_approval is True and schedule.time_off_needs_approval is True
        exported = config_export()
        assert exported["schedules"][0]["swaps_need_approval"] is True
        assert exported["schedules"][0]["time_off_needs_approval"] is True
        again = yaml.safe_dump(dict(exported))
        assert not [
            c for c in config_apply(file="oncall.yaml", text=again).changes if c.action != "missing"
        ]
        result = config_apply(file="oncall.yaml", text=DOC.format(flag="false"))
        assert any("swaps_need_approval" in str(c) for c in result.changes)
        assert Schedule.objects.get().swaps_need_approval is False
        assert "swaps_need_approval" not in config_export()["schedules"][0]
        assert Schedule.objects.get().time_off_needs_approval is False
