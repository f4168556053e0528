"""Reads: load a schedule definition once, then ask the pure resolver."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db.models import Q

from oncall.models import Engineer
from schedules.models import Holiday, LayerVersion, Override, Schedule, TimeOff
from schedules.resolver import (
    LayerDef,
    OverrideDef,
    ScheduleDefinition,
    Shift,
    TimeOffDef,
    oncall_at,
    resolve,
)
from schedules.snapshots import version_def_from_row


def schedule_definition(schedule_id: int) -> ScheduleDefinition:
    """Everything the resolver needs for one schedule, in six queries.

    Raises ``Schedule.DoesNotExist`` for an unknown id.
    """
    schedule = Schedule.objects.only("id", "name", "time_zone").get(pk=schedule_id)
    rows = list(
        LayerVersion.objects.filter(layer__schedule_id=schedule_id)
        .select_related(None)
        .only("layer_id", "effective_from", "active", "definition")
        .order_by("layer_id", "effective_from")
    )
    by_layer: dict[int, list[LayerVersion]] = defaultdict(list)
    for row in rows:
        by_layer[row.layer_id].append(row)
    layers = []
    engineer_ids: set[int] = set()
    for layer_id, versions in by_layer.items():
        latest = versions[-1].definition
        layers.append(
            LayerDef(
                id=layer_id,
                name=latest["name"],
                level=latest["level"],
                versions=tuple(version_def_from_row(v) for v in versions),
            )
        )
        for v in versions:
            engineer_ids.update(v.definition["members"])
    overrides = [
        OverrideDef(
            id=o.id,
            engineer_id=o.engineer_id,
            start=o.start,
            end=o.end,
            created_at=o.created_at,
            replace_engineer_id=o.replace_engineer_id,
        )
        for o in Override.objects.filter(schedule_id=schedule_id).only(
            "id", "engineer_id", "start", "end", "created_at", "replace_engineer_id"
        )
    ]
    for o in overrides:
        engineer_ids.add(o.engineer_id)
        if o.replace_engineer_id:
            engineer_ids.add(o.replace_engineer_id)
    time_off = [
        TimeOffDef(engineer_id=t.engineer_id, start=t.start, end=t.end)
        for t in TimeOff.objects.filter(engineer_id__in=engineer_ids).only(
            "engineer_id", "start", "end"
        )
    ]
    holidays = frozenset(
        Holiday.objects.filter(calendar__schedules=schedule_id).values_list("date", flat=True)
    )
    names = dict(Engineer.objects.filter(pk__in=engineer_ids).values_list("id", "display_name"))
    return ScheduleDefinition(
        id=schedule.id,
        name=schedule.name,
        time_zone=schedule.time_zone,
        layers=layers,
        overrides=overrides,
        time_off=time_off,
        holidays=holidays,
        names=names,
    )


def oncall_engineer_ids(*, schedule_id: int, at: datetime) -> list[int]:
    """Engineer ids on call in ``schedule_id`` at ``at``, in precedence order; [] for a gap.

    The contract the paging engine uses for escalation targets.
    """
    return oncall_at(schedule_definition(schedule_id), at)


def schedule_shifts(*, schedule_id: int, start: datetime, end: datetime) -> list[Shift]:
    return resolve(schedule_definition(schedule_id), start, end)


def engineer_schedule_ids(*, engineer_id: int) -> list[int]:
    """Schedules where the engineer is, or ever was, a layer member or has an override."""
    ids = set(
        Schedule.objects.filter(
            Q(overrides__engineer_id=engineer_id)
            | Q(layers__layer_members__engineer_id=engineer_id)
        ).values_list("id", flat=True)
    )
    # Past members live only in version snapshots; JSON containment is not portable
    # (SQLite), so the member lists are checked here.
    for schedule_id, members in LayerVersion.objects.exclude(
        layer__schedule_id__in=ids
    ).values_list("layer__schedule_id", "definition__members"):
        if engineer_id in (members or []):
            ids.add(schedule_id)
    return sorted(ids)


def engineer_shifts(*, engineer_id: int, start: datetime, end: datetime) -> list[tuple[int, Shift]]:
    """(schedule id, shift) for every shift of the engineer in any schedule, by start."""
    out: list[tuple[int, Shift]] = []
    for schedule_id in engineer_schedule_ids(engineer_id=engineer_id):
        for shift in schedule_shifts(schedule_id=schedule_id, start=start, end=end):
            if shift.engineer_id == engineer_id:
                out.append((schedule_id, shift))
    out.sort(key=lambda pair: (pair[1].start, pair[0]))
    return out
