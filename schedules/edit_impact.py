"""What a layer edit does to who is on call, worked out before it is saved.

Pure functions over a ``ScheduleDefinition`` (no database): the admin form and
``oncall_apply --dry-run`` ask them to say "on call now changes from X to Y at T"
before anything is written, and to find a layer's next handoff (the default moment
a rotation edit takes effect).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from schedules.resolver import (
    LayerDef,
    LayerVersionDef,
    RestrictionDef,
    ScheduleDefinition,
    next_handoff,
    oncall_at,
)
from schedules.zoned import local_display

NEXT_HANDOFF = "next-handoff"
NOW = "now"


def _version_at(layer: LayerDef, at: datetime) -> LayerVersionDef | None:
    current = None
    for version in layer.versions:
        if version.effective_from <= at:
            current = version
    return current


def layer_next_handoff(
    definition: ScheduleDefinition, *, layer_id: int, after: datetime
) -> datetime:
    """The first handoff of the layer's rotation in force at ``after``, at or after it.

    ``after`` itself when the layer has no rotation then (not started, retired or
    unknown): an edit to it has no handoff to wait for.
    """
    layer = next((la for la in definition.layers if la.id == layer_id), None)
    if layer is None:
        return after
    version = _version_at(layer, after)
    if version is None or not version.active or not version.members:
        # Not started yet: its first handoff, if it is in the future.
        upcoming = [v for v in layer.versions if v.effective_from > after and v.active]
        if version is None and upcoming:
            return max(after, next_handoff(upcoming[0], after))
        return after
    return next_handoff(version, after)


def version_from_fields(
    fields: dict[str, Any], *, effective_from: datetime, zone: str, active: bool = True
) -> LayerVersionDef:
    """A layer version from the fields a form or the config file gives: ``members``
    (engineers), ``restrictions`` (``RestrictionSpec``), ``start_date``, ``handoff_time``,
    ``shift_length``, ``shift_unit``."""
    return LayerVersionDef(
        effective_from=effective_from,
        active=active,
        members=tuple(e.pk for e in fields.get("members") or []),
        start_date=fields["start_date"],
        handoff_time=fields["handoff_time"],
        shift_length=fields["shift_length"],
        shift_unit=fields["shift_unit"],
        time_zone=zone,
        restrictions=tuple(
            RestrictionDef(
                weekdays=frozenset(int(d) for d in r.weekdays),
                start=r.start_time,
                end=r.end_time,
                business_hours=r.business_hours,
            )
            for r in fields.get("restrictions") or []
        ),
    )


@dataclass(frozen=True)
class Impact:
    at: datetime
    before: list[int]
    after: list[int]
    before_names: list[str]
    after_names: list[str]
    zone: str
    now: bool  # the edit takes effect now (not at a later handoff)

    @property
    def changes(self) -> bool:
        return self.before != self.after

    def message(self) -> str:
        """ "On call now changes from Alice to Bob at Sun 29 Nov 2026, 14:03 CET"."""
        before = ", ".join(self.before_names) or "nobody (a gap)"
        after = ", ".join(self.after_names) or "nobody (a gap)"
        when = local_display(self.at, self.zone)
        if self.now:
            return f"On call now changes from {before} to {after} at {when} ({self.zone})."
        return f"On call at {when} ({self.zone}) changes from {before} (as planned) to {after}."


def definition_with_layer(
    definition: ScheduleDefinition,
    *,
    layer_id: int | None,
    name: str,
    level: int,
    version: LayerVersionDef,
) -> ScheduleDefinition:
    """``definition`` as it would be with ``version`` of the layer in force from its
    ``effective_from`` (later planned versions dropped, as ``layer_version_write`` does).
    ``layer_id`` None adds a new layer."""
    layers = []
    found = False
    for layer in definition.layers:
        if layer.id != layer_id:
            layers.append(layer)
            continue
        found = True
        kept = tuple(v for v in layer.versions if v.effective_from < version.effective_from)
        layers.append(replace(layer, name=name, level=level, versions=(*kept, version)))
    if not found:
        new_id = min([0, *(la.id for la in definition.layers)]) - 1  # never a real id
        layers.append(LayerDef(id=new_id, name=name, level=level, versions=(version,)))
    return replace(definition, layers=layers)


def layer_edit_impact(
    definition: ScheduleDefinition,
    *,
    layer_id: int | None,
    name: str,
    level: int,
    version: LayerVersionDef,
    now: datetime,
    names: dict[int, str] | None = None,
) -> Impact:
    """Who is on call at the moment the edit takes effect, without and with it."""
    at = max(version.effective_from, now)
    edited = definition_with_layer(
        definition, layer_id=layer_id, name=name, level=level, version=version
    )
    all_names = {**definition.names, **(names or {})}
    before = oncall_at(definition, at)
    after = oncall_at(edited, at)

    def named(ids: list[int]) -> list[str]:
        return [all_names.get(i, f"engineer {i}") for i in ids]

    return Impact(
        at=at,
        before=before,
        after=after,
        before_names=named(before),
        after_names=named(after),
        zone=definition.time_zone,
        now=at <= now,
    )
