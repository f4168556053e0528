"""Config as code for schedules: apply, idempotence, versions from now, prune, export
round trip, errors naming the path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from oncall.config.apply import config_apply, config_export
from oncall.config.registry import ConfigError
from schedules.api.serializers import iso
from schedules.models import (
    Holiday,
    Layer,
    LayerVersion,
    Override,
    Schedule,
    ScheduleCalendarLink,
    TimeOff,
)
from schedules.selectors import oncall_engineer_ids
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

DOC = """
teams:
  - slug: platform
    name: Platform
engineers:
  - username: lena
    display_name: Lena
    teams: [{team: platform}]
  - username: marcus
    display_name: Marcus
    teams: [{team: platform}]
holiday_calendars:
  - name: Germany
    holidays:
      - {date: 2026-10-03, name: Unity Day}
      - {date: "2026-12-25", name: Christmas}
schedules:
  - team: platform
    name: Primary
    time_zone: Europe/Berlin
    holiday_calendars: [Germany]
    layers:
      - name: Nights
        level: 0
        start_date: 2026-03-02
        handoff_time: "09:00"
        shift_unit: weeks
        members: [marcus]
      - name: Business
        level: 1
        start_date: 2026-03-02
        shift_unit: days
        members: [lena, marcus, lena]
        restrictions: ["Mon-Fri 09:00-17:00 business"]
    overrides:
      - {engineer: lena, start: "2026-03-10T00:00:00Z", end: "2026-03-11T00:00:00Z"}
time_off:
  - {engineer: lena, start: "2026-03-20T00:00:00Z", end: "2026-03-25T00:00:00Z"}
"""


def apply(text: str, **kw):
    return config_apply(file="oncall.yaml", text=text, **kw)


def test_apply_is_idempotent_and_round_trips():
    with time_machine.travel(T0, tick=False):
        result = apply(DOC)
        paths = {str(c) for c in result.changes}
        assert "+ schedules[platform/Primary]" in paths
        assert "+ schedules[platform/Primary].layers[Business]" in paths
        assert Override.objects.count() == 1 and TimeOff.objects.count() == 1
        assert not [c for c in apply(DOC).changes if c.action != "missing"]
        exported = config_export()
        again = yaml.safe_dump({k: exported[k] for k in exported})
        assert not [c for c in apply(again).changes if c.action != "missing"]
    schedule = Schedule.objects.get(name="Primary")
    layer = Layer.objects.get(name="Business")
    assert [m.engineer.user.username for m in layer.layer_members.all()] == [
        "lena",
        "marcus",
        "lena",
    ]
    exported_schedule = exported["schedules"][0]
    assert exported_schedule["layers"][0]["restrictions"] == ["Mon-Fri 09:00-17:00 business"]
    assert exported["holiday_calendars"][0]["holidays"][0] == {
        "date": "2026-10-03",
        "name": "Unity Day",
    }
    lena = layer.layer_members.first().engineer
    assert (
        oncall_engineer_ids(schedule_id=schedule.pk, at=datetime(2026, 3, 3, 9, tzinfo=UTC)) != []
    )
    assert oncall_engineer_ids(
        schedule_id=schedule.pk, at=datetime(2026, 3, 10, 5, tzinfo=UTC)
    ) == [lena.pk]


def test_layer_change_applies_from_now_and_prune_retires():
    with time_machine.travel(T0, tick=False):
        apply(DOC)
    edited = DOC.replace("members: [marcus]\n", "members: [lena]\n")
    later = T0 + timedelta(days=3)
    with time_machine.travel(later, tick=False):
        result = apply(edited)
    [change] = [c for c in result.changes if c.action == "update"]
    assert "layers[Nights]" in change.path and "from now on" in change.detail
    nights = Layer.objects.get(name="Nights")
    assert LayerVersion.objects.filter(layer=nights).count() == 2
    schedule = Schedule.objects.get(name="Primary")
    marcus_id, lena_id = (
        nights.schedule.team.engineers.get(user__username=u).pk for u in ("marcus", "lena")
    )
    # Sunday night before the edit was Marcus's, after the edit it is Lena's.
    assert oncall_engineer_ids(schedule_id=schedule.pk, at=T0 + timedelta(hours=12)) == [marcus_id]
    assert oncall_engineer_ids(schedule_id=schedule.pk, at=later + timedelta(hours=12)) == [lena_id]
    without_nights = edited.replace(
        """      - name: Nights
        level: 0
        start_date: 2026-03-02
        handoff_time: "09:00"
        shift_unit: weeks
        members: [lena]
""",
        "",
    )
    with time_machine.travel(later + timedelta(days=1), tick=False):
        plan = apply(without_nights)
        assert [str(c) for c in plan.changes if c.action == "missing"] == [
            "? schedules[platform/Primary].layers[Nights]: retired from now on; past shifts stay"
        ]
        apply(without_nights, prune=True)
    nights.refresh_from_db()
    assert nights.deleted_at is not None
    assert oncall_engineer_ids(schedule_id=schedule.pk, at=T0 + timedelta(hours=12)) == [marcus_id]


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("members: [marcus]", "members: [ghost]", "schedules[0].layers[0].members[0]"),
        ("shift_unit: weeks", "shift_unit: months", "schedules[0].layers[0].shift_unit"),
        (
            '["Mon-Fri 09:00-17:00 business"]',
            '["Funday 09:00"]',
            "schedules[0].layers[1].restrictions[0]",
        ),
        ("time_zone: Europe/Berlin", "time_zone: Moon/Base", "schedules[0].time_zone"),
        (
            "holiday_calendars: [Germany]",
            "holiday_calendars: [Mars]",
            "schedules[0].holiday_calendars[0]",
        ),
        (
            'start: "2026-03-10T00:00:00Z"',
            'start: "2026-03-10T00:00:00"',
            "schedules[0].overrides[0].start",
        ),
        ("{date: 2026-10-03", '{date: "2026-13-03"', "holiday_calendars[0].holidays[0].date"),
        (
            "shift_unit: weeks\n        members: [marcus]",
            "shift_unit: weeks\n        shift_length: 100000000000000000000"
            "\n        members: [marcus]",
            "schedules[0].layers[0].shift_length",
        ),
    ],
)
def test_errors_name_the_path_and_change_nothing(old, new, path):
    assert old in DOC
    with time_machine.travel(T0, tick=False), pytest.raises(ConfigError) as exc:
        apply(DOC.replace(old, new, 1))
    assert exc.value.path == path, str(exc.value)
    assert Schedule.objects.count() == 0


def test_one_apply_takes_effect_at_one_instant():
    """Two layers (lower one first), a calendar and its holidays, created by one file while
    the clock runs: one effective instant, and /shifts never shows the lower layer alone."""
    with time_machine.travel(T0, tick=True):
        result = apply(DOC)
    schedule = Schedule.objects.get(name="Primary")
    starts = set(LayerVersion.objects.values_list("effective_from", flat=True))
    starts |= set(ScheduleCalendarLink.objects.values_list("attached_at", flat=True))
    starts |= set(Holiday.objects.values_list("added_at", flat=True))
    assert len(starts) == 1, sorted(starts)
    [instant] = starts
    api = APIClient()
    api.force_authenticate(UserFactory())
    window = {"start": "2026-03-02T11:00:00Z", "end": "2026-03-02T13:00:00Z"}
    shifts = api.get(f"/api/v1/schedules/{schedule.pk}/shifts/", window).data["shifts"]
    # 13:00 in Berlin on a Monday: the business layer (Lena) from the apply on, nobody before.
    assert [(s["engineer_name"], s["start"]) for s in shifts] == [("Lena", iso(instant))]
    assert result.effective_at == instant


def test_effective_option_sets_the_instant_and_refuses_the_past(tmp_path):
    path = tmp_path / "oncall.yaml"
    path.write_text(DOC)
    out = StringIO()
    with time_machine.travel(T0, tick=False):
        with pytest.raises(CommandError, match="--effective: cannot be in the past"):
            call_command("oncall_apply", str(path), "--effective", "2026-03-01T12:00:00Z")
        with pytest.raises(CommandError, match="needs a UTC offset"):
            call_command("oncall_apply", str(path), "--effective", "2026-03-09T09:00:00")
        assert Schedule.objects.count() == 0
        call_command("oncall_apply", str(path), "--effective", "2026-03-09T08:00:00Z", stdout=out)
    monday = datetime(2026, 3, 9, 8, tzinfo=UTC)
    assert set(LayerVersion.objects.values_list("effective_from", flat=True)) == {monday}
    assert "Effective at 2026-03-09T08:00:00Z (every change in the file)." in out.getvalue()
    schedule = Schedule.objects.get(name="Primary")
    assert oncall_engineer_ids(schedule_id=schedule.pk, at=T0 + timedelta(days=1)) == []
    edited = DOC.replace("members: [marcus]\n", "members: [lena]\n")
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        plan = apply(edited, dry_run=True, effective_at=datetime(2026, 3, 16, 8, tzinfo=UTC))
    [change] = [c for c in plan.changes if c.action == "update"]
    assert change.detail.endswith("(from 2026-03-16T08:00:00Z)")


def test_dry_run_says_when_an_edit_changes_who_is_on_call_now(capsys, tmp_path):
    from django.core.management import call_command

    with time_machine.travel(T0, tick=False):
        apply(DOC)
    edited = DOC.replace("members: [marcus]\n", "members: [lena]\n")
    # Thursday 5 March 22:00 Berlin: the Nights layer (Marcus) is on call.
    night = datetime(2026, 3, 5, 21, tzinfo=UTC)
    with time_machine.travel(night, tick=False):
        result = apply(edited, dry_run=True)
        [change] = [c for c in result.changes if c.action == "update"]
        assert change.detail.endswith(
            "On call now changes from Marcus to Lena at Thu 05 Mar 2026, 22:00 CET (Europe/Berlin)."
        )
        path = tmp_path / "oncall.yaml"
        path.write_text(edited)
        call_command("oncall_apply", str(path), "--dry-run")
    assert "On call now changes from Marcus to Lena" in capsys.readouterr().out
    assert LayerVersion.objects.filter(layer__name="Nights").count() == 1  # a dry run


def test_effective_next_handoff_keeps_the_current_shift(tmp_path, capsys):
    from django.core.management import call_command

    with time_machine.travel(T0, tick=False):
        apply(DOC)
    edited = DOC.replace("members: [marcus]\n", "members: [lena]\n")
    path = tmp_path / "oncall.yaml"
    path.write_text(edited)
    night = datetime(2026, 3, 5, 21, tzinfo=UTC)  # Thursday 22:00 Berlin, Marcus's week
    with time_machine.travel(night, tick=False):
        call_command("oncall_apply", str(path), "--effective", "next-handoff")
    out = capsys.readouterr().out
    # Weekly handoff: Monday 9 March 09:00 Berlin = 08:00Z.
    assert "(from 2026-03-09T08:00:00Z)" in out
    schedule = Schedule.objects.get(name="Primary")
    lena = Layer.objects.get(name="Nights").layer_members.get().engineer
    at_night = oncall_engineer_ids(schedule_id=schedule.pk, at=night)
    after = oncall_engineer_ids(schedule_id=schedule.pk, at=datetime(2026, 3, 9, 21, tzinfo=UTC))
    assert at_night != [lena.pk]  # Marcus keeps his week
    assert after == [lena.pk]
