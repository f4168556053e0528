"""Reads: load a schedule definition once, then ask the pure resolver."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db.models import F, Q

from oncall.people.models import Engineer
from schedules.models import Holiday, LayerVersion, Override, Schedule, TimeOff
from schedules.resolver import (
    HolidayDef,
    LayerDef,
    OverrideDef,
    ScheduleDefinition,
    Shift,
    TimeOffDef,
    oncall_at,
    resolve,
    resolve_whole,
)
from schedules.snapshots import version_def_from_row


def schedule_definitions(schedule_ids: Iterable[int]) -> dict[int, ScheduleDefinition]:
    """Definitions of several schedules at once, in six queries whatever their number.

    Unknown ids are left out of the result.
    """
    ids = sorted(set(schedule_ids))
    schedules = list(Schedule.objects.filter(pk__in=ids).only("id", "name", "time_zone"))
    if not schedules:
        return {}
    versions: dict[int, dict[int, list[LayerVersion]]] = defaultdict(lambda: defaultdict(list))
    for row in (
        LayerVersion.objects.filter(layer__schedule_id__in=ids)
        .annotate(schedule_id=F("layer__schedule_id"))
        .only("layer_id", "effective_from", "active", "definition")
        .order_by("layer_id", "effective_from")
    ):
        versions[row.schedule_id][row.layer_id].append(row)
    overrides: dict[int, list[OverrideDef]] = defaultdict(list)
    for o in Override.objects.filter(schedule_id__in=ids).only(
        "id", "schedule_id", "engineer_id", "start", "end", "created_at", "replace_engineer_id"
    ):
        overrides[o.schedule_id].append(
            OverrideDef(
                id=o.id,
                engineer_id=o.engineer_id,
                start=o.start,
                end=o.end,
                created_at=o.created_at,
                replace_engineer_id=o.replace_engineer_id,
            )
        )
    engineer_ids: set[int] = set()
    layers: dict[int, list[LayerDef]] = defaultdict(list)
    for schedule_id, by_layer in versions.items():
        for layer_id, rows in by_layer.items():
            latest = rows[-1].definition
            layers[schedule_id].append(
                LayerDef(
                    id=layer_id,
                    name=latest["name"],
                    level=latest["level"],
                    versions=tuple(version_def_from_row(v) for v in rows),
                )
            )
            for v in rows:
                engineer_ids.update(v.definition["members"])
    for defs in overrides.values():
        for od in defs:
            engineer_ids.add(od.engineer_id)
            if od.replace_engineer_id:
                engineer_ids.add(od.replace_engineer_id)
    time_off: dict[int, list[TimeOffDef]] = defaultdict(list)
    for t in TimeOff.objects.filter(
        engineer_id__in=engineer_ids, status=TimeOff.Status.APPROVED
    ).only("engineer_id", "start", "end"):
        time_off[t.engineer_id].append(
            TimeOffDef(engineer_id=t.engineer_id, start=t.start, end=t.end)
        )
    # Removed holidays and detached calendars too: a holiday applies to a schedule while
    # it was on its calendar *and* the calendar was attached, i.e. over the intersection
    # of [added_at, removed_at) and the link's [attached_at, detached_at).
    holidays: dict[int, set[HolidayDef]] = defaultdict(set)
    link = "calendar__schedule_links__"
    for schedule_id, day, added_at, removed_at, attached_at, detached_at in Holiday.objects.filter(
        **{f"{link}schedule_id__in": ids}
    ).values_list(
        f"{link}schedule_id",
        "date",
        "added_at",
        "removed_at",
        f"{link}attached_at",
        f"{link}detached_at",
    ):
        since = max(added_at, attached_at)
        ends = [e for e in (removed_at, detached_at) if e is not None]
        until = min(ends) if ends else None
        if until is None or since < until:
            holidays[schedule_id].add(HolidayDef(day=day, added_at=since, removed_at=until))
    names = dict(Engineer.objects.filter(pk__in=engineer_ids).values_list("id", "display_name"))
    out = {}
    for schedule in schedules:
        sid = schedule.id
        members = {m for la in layers[sid] for v in la.versions for m in v.members}
        members.update(o.engineer_id for o in overrides[sid])
        out[sid] = ScheduleDefinition(
            id=sid,
            name=schedule.name,
            time_zone=schedule.time_zone,
            layers=layers[sid],
            overrides=overrides[sid],
            time_off=[t for eid in members for t in time_off.get(eid, [])],
            holidays=frozenset(holidays[sid]),
            names=names,
        )
    return out


def schedule_definition(schedule_id: int) -> ScheduleDefinition:
    """Everything the resolver needs for one schedule, in six queries.

    Raises ``Schedule.DoesNotExist`` for an unknown id.
    """
    found = schedule_definitions([schedule_id])
    if schedule_id not in found:
        raise Schedule.DoesNotExist(f"schedule {schedule_id} does not exist")
    return found[schedule_id]


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


def engineer_shifts(
    *, engineer_id: int, start: datetime, end: datetime, whole: bool = False
) -> list[tuple[int, Shift]]:
    """(schedule id, shift) for every shift of the engineer in any schedule, by start.

    ``whole``: a shift running at ``start`` keeps its real start (``resolve_whole``).
    """
    out: list[tuple[int, Shift]] = []
    definitions = schedule_definitions(engineer_schedule_ids(engineer_id=engineer_id))
    for schedule_id, definition in definitions.items():
        shifts = (resolve_whole if whole else resolve)(definition, start, end)
        for shift in shifts:
            if shift.engineer_id == engineer_id:
                out.append((schedule_id, shift))
    out.sort(key=lambda pair: (pair[1].start, pair[0]))
    return out
