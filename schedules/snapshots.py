"""Layer snapshots: the JSON stored in ``LayerVersion.definition`` and back."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from schedules.models import Layer, LayerVersion
from schedules.resolver import LayerVersionDef, RestrictionDef


def layer_snapshot(layer: Layer, *, time_zone: str) -> dict[str, Any]:
    """The layer's current editable rows as a JSON-able dict (members in order)."""
    return {
        "name": layer.name,
        "level": layer.level,
        "time_zone": time_zone,
        "start_date": layer.start_date.isoformat(),
        "handoff_time": layer.handoff_time.strftime("%H:%M:%S"),
        "shift_length": layer.shift_length,
        "shift_unit": layer.shift_unit,
        "members": [m.engineer_id for m in layer.layer_members.order_by("position", "id")],
        "restrictions": [
            {
                "weekdays": sorted(int(d) for d in r.weekdays),
                "start": r.start_time.strftime("%H:%M:%S"),
                "end": r.end_time.strftime("%H:%M:%S"),
                "business_hours": r.business_hours,
            }
            for r in layer.restrictions.order_by("id")
        ],
    }


def version_def(effective_from: datetime, active: bool, data: dict[str, Any]) -> LayerVersionDef:
    return LayerVersionDef(
        effective_from=effective_from,
        active=active,
        members=tuple(data["members"]),
        start_date=date.fromisoformat(data["start_date"]),
        handoff_time=time.fromisoformat(data["handoff_time"]),
        shift_length=data["shift_length"],
        shift_unit=data["shift_unit"],
        time_zone=data["time_zone"],
        restrictions=tuple(
            RestrictionDef(
                weekdays=frozenset(r["weekdays"]),
                start=time.fromisoformat(r["start"]),
                end=time.fromisoformat(r["end"]),
                business_hours=r["business_hours"],
            )
            for r in data["restrictions"]
        ),
    )


def version_def_from_row(row: LayerVersion) -> LayerVersionDef:
    return version_def(row.effective_from, row.active, row.definition)
