"""Config-file sections for schedules: ``holiday_calendars`` (30), ``schedules`` (40) and
``time_off`` (45).

Identity keys: a holiday calendar by ``name``; a schedule by (``team`` slug, ``name``);
a layer by its ``name`` inside the schedule; an override by (engineer, start, end,
replace); time off by (engineer, start, end). Engineers are named by username.

Everything versioned by time takes effect at one instant, ``ctx.effective_at`` (the
apply's start, or ``--effective``): layer versions, calendar links, holidays added or
removed. Two layers created by one file therefore start together, and history never
shows a state halfway through the file. Layer edits go through the services, so they
never rewrite past shifts; a layer missing from the file is *retired* with ``--prune``
(its past stays). Overrides and time off that already ended are history: they are
neither exported nor required in the file. Likewise a holiday date missing from the
file is removed from then on (``removed_at``), and only current holidays are exported.

Restrictions use the text form of ``schedules.restriction_text``
(``"Mon-Fri 09:00-17:00 business"``, ``"Sat-Sun all day"``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.utils import timezone

from oncall.config.fields import (
    Field,
    describe_diff,
    read_choice,
    read_list,
    read_mapping,
    service_call,
)
from oncall.config.registry import ApplyContext, ConfigSection, register_section
from oncall.people.models import Engineer, Team
from oncall.people.validators import validate_time_zone
from schedules import services
from schedules.edit_impact import layer_edit_impact, layer_next_handoff, version_from_fields
from schedules.models import (
    MAX_SHIFT_LENGTH,
    Holiday,
    HolidayCalendar,
    Layer,
    Override,
    Schedule,
    ShiftUnit,
    TimeOff,
)
from schedules.resolver import ScheduleDefinition
from schedules.restriction_text import restriction_text, restrictions_parse
from schedules.selectors import schedule_definition

CALENDAR_FIELDS = {
    "name": Field(str, required=True),
    "description": Field(str, default=""),
    "holidays": Field(list, default=list),
}
HOLIDAY_FIELDS = {"date": Field(object, required=True), "name": Field(str, default="")}
SCHEDULE_FIELDS = {
    "team": Field(str, required=True),
    "name": Field(str, required=True),
    "time_zone": Field(str, default="UTC"),
    "description": Field(str, default=""),
    "swaps_need_approval": Field(bool, default=False),
    "time_off_needs_approval": Field(bool, default=False),
    "holiday_calendars": Field(list, default=list),
    "layers": Field(list, default=list),
    "overrides": Field(list, default=list),
}
LAYER_FIELDS = {
    "name": Field(str, required=True),
    "level": Field(int, default=0),
    "start_date": Field(object, required=True),
    "handoff_time": Field(str, default="09:00"),
    "shift_length": Field(int, default=1),
    "shift_unit": Field(str, default=ShiftUnit.WEEKS.value),
    "members": Field(list, default=list),
    "restrictions": Field(list, default=list),
}
OVERRIDE_FIELDS = {
    "engineer": Field(str, required=True),
    "start": Field(object, required=True),
    "end": Field(object, required=True),
    "replace": Field(str, default=""),
    "note": Field(str, default=""),
}
TIME_OFF_FIELDS = {
    "engineer": Field(str, required=True),
    "start": Field(object, required=True),
    "end": Field(object, required=True),
    "kind": Field(str, default=TimeOff.Kind.VACATION.value),
    "note": Field(str, default=""),
}


# --- readers ------------------------------------------------------------------------


def _items(ctx: ApplyContext, value: Any, path: str) -> list[Any]:
    return [] if value is None else read_list(ctx, value, path)


def _date(ctx: ApplyContext, value: Any, path: str) -> date:
    if isinstance(value, datetime):
        ctx.fail(path, "expected a date (YYYY-MM-DD), got a date-time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    ctx.fail(path, f"{value!r} is not a date (YYYY-MM-DD)")


def _instant(ctx: ApplyContext, value: Any, path: str) -> datetime:
    parsed = value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            ctx.fail(path, f"{value!r} is not an ISO 8601 date-time")
    if not isinstance(parsed, datetime):
        ctx.fail(path, f"{value!r} is not a date-time")
    if timezone.is_naive(parsed):
        ctx.fail(path, f"{value!r} needs a UTC offset (e.g. 2026-03-01T09:00:00+01:00 or ...Z)")
    return parsed


def _time(ctx: ApplyContext, value: str, path: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError:
        ctx.fail(path, f"{value!r} is not a time of day (HH:MM)")


def _engineer(ctx: ApplyContext, username: str, path: str) -> Engineer:
    if ctx.is_declared("engineers", username) is False:
        ctx.fail(path, f"engineer {username!r} is not defined in the file")
    engineer = Engineer.objects.filter(user__username=username).first()
    if engineer is None:
        ctx.fail(path, f"engineer {username!r} does not exist")
    return engineer


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _from(ctx: ApplyContext) -> str:
    """When the file's edits take effect, for the plan."""
    if abs(ctx.effective_at - timezone.now()) < timedelta(minutes=1):
        return "from now on"
    return f"from {_iso(ctx.effective_at)}"


# --- holiday calendars --------------------------------------------------------------


def holiday_calendars_apply(value: Any, ctx: ApplyContext) -> None:
    ctx.declared.setdefault("holiday_calendars", {})
    for i, raw in enumerate(_items(ctx, value, "holiday_calendars")):
        path = f"holiday_calendars[{i}]"
        data = read_mapping(ctx, raw, path, CALENDAR_FIELDS)
        ctx.declare("holiday_calendars", data["name"], f"{path}.name")
        wanted: dict[date, str] = {}
        for j, item in enumerate(read_list(ctx, data["holidays"], f"{path}.holidays")):
            h = read_mapping(ctx, item, f"{path}.holidays[{j}]", HOLIDAY_FIELDS)
            wanted[_date(ctx, h["date"], f"{path}.holidays[{j}].date")] = h["name"]
        calendar = HolidayCalendar.objects.current().filter(name=data["name"]).first()
        label = f"holiday_calendars[{data['name']}]"
        if calendar is None:
            service_call(
                ctx,
                path,
                lambda d=data, w=wanted: services.holiday_calendar_save(
                    name=d["name"],
                    description=d["description"],
                    holidays=sorted(w.items()),
                    at=ctx.effective_at,
                ),
            )
            ctx.record("create", label, f"{len(wanted)} holiday(s)")
            continue
        have = dict(Holiday.objects.current().filter(calendar=calendar).values_list("date", "name"))
        notes = []
        if calendar.description != data["description"]:
            notes.append(f"description {calendar.description!r} -> {data['description']!r}")
        if have != wanted:
            # Removed dates keep applying to the time they were on the calendar.
            added, removed = set(wanted) - set(have), set(have) - set(wanted)
            notes.append(f"holidays +{len(added)} -{len(removed)}")
        if notes:
            service_call(
                ctx,
                path,
                lambda c=calendar, d=data, w=wanted, h=have: services.holiday_calendar_save(
                    calendar=c,
                    name=d["name"],
                    description=d["description"],
                    holidays=None if h == w else sorted(w.items()),
                    at=ctx.effective_at,
                ),
            )
            ctx.record("update", label, ", ".join(notes))
    for calendar in HolidayCalendar.objects.current().exclude(
        name__in=list(ctx.declared["holiday_calendars"])
    ):
        # Pruning archives: the past keeps the calendar's holidays.
        ctx.not_in_file(
            f"holiday_calendars[{calendar.name}]",
            lambda c=calendar: services.holiday_calendar_archive(calendar=c, at=ctx.effective_at),
        )


def holiday_calendars_export() -> list[dict]:
    out = []
    current = Prefetch("holidays", queryset=Holiday.objects.current())
    for calendar in HolidayCalendar.objects.current().prefetch_related(current).order_by("name"):
        item: dict[str, Any] = {"name": calendar.name}
        if calendar.description:
            item["description"] = calendar.description
        item["holidays"] = [
            {"date": h.date.isoformat(), **({"name": h.name} if h.name else {})}
            for h in sorted(calendar.holidays.all(), key=lambda h: h.date)
        ]
        out.append(item)
    return out


# --- schedules ----------------------------------------------------------------------


def _layer_wanted(ctx: ApplyContext, raw: Any, path: str) -> dict[str, Any]:
    data = read_mapping(ctx, raw, path, LAYER_FIELDS)
    read_choice(ctx, data["shift_unit"], f"{path}.shift_unit", ShiftUnit.values)
    if data["shift_length"] < 1:
        ctx.fail(f"{path}.shift_length", "must be at least 1")
    elif data["shift_length"] > MAX_SHIFT_LENGTH:
        ctx.fail(f"{path}.shift_length", f"must be at most {MAX_SHIFT_LENGTH}")
    members = [
        _engineer(ctx, read_value_str(ctx, m, f"{path}.members[{k}]"), f"{path}.members[{k}]")
        for k, m in enumerate(data["members"])
    ]
    restrictions = []
    for k, text in enumerate(data["restrictions"]):
        where = f"{path}.restrictions[{k}]"
        try:
            restrictions += restrictions_parse(read_value_str(ctx, text, where))
        except ValidationError as exc:
            ctx.fail(where, "; ".join(exc.messages))
    return {
        "name": data["name"],
        "level": data["level"],
        "start_date": _date(ctx, data["start_date"], f"{path}.start_date"),
        "handoff_time": _time(ctx, data["handoff_time"], f"{path}.handoff_time"),
        "shift_length": data["shift_length"],
        "shift_unit": data["shift_unit"],
        "members": members,
        "restrictions": restrictions,
    }


def read_value_str(ctx: ApplyContext, value: Any, path: str) -> str:
    if not isinstance(value, str):
        ctx.fail(path, f"expected a string, got {type(value).__name__}")
    return value


def _layer_state(layer: Layer) -> dict[str, Any]:
    return {
        "level": layer.level,
        "start_date": layer.start_date,
        "handoff_time": layer.handoff_time,
        "shift_length": layer.shift_length,
        "shift_unit": layer.shift_unit,
        "members": [
            m.engineer.user.username for m in layer.layer_members.select_related("engineer__user")
        ],
        "restrictions": [
            restriction_text(r.weekdays, r.start_time, r.end_time, r.business_hours)
            for r in layer.restrictions.all()
        ],
    }


def _wanted_state(wanted: dict[str, Any]) -> dict[str, Any]:
    return {
        "level": wanted["level"],
        "start_date": wanted["start_date"],
        "handoff_time": wanted["handoff_time"],
        "shift_length": wanted["shift_length"],
        "shift_unit": wanted["shift_unit"],
        "members": [e.user.username for e in wanted["members"]],
        "restrictions": [
            restriction_text(list(r.weekdays), r.start_time, r.end_time, r.business_hours)
            for r in wanted["restrictions"]
        ],
    }


def _apply_layers(ctx: ApplyContext, schedule: Schedule, raw_layers: list, path: str, label: str):
    seen: set[str] = set()
    for k, raw in enumerate(raw_layers):
        lpath = f"{path}.layers[{k}]"
        wanted = _layer_wanted(ctx, raw, lpath)
        if wanted["name"] in seen:
            ctx.fail(f"{lpath}.name", f"duplicate layer name {wanted['name']!r}")
        seen.add(wanted["name"])
        llabel = f"{label}.layers[{wanted['name']}]"
        layer = schedule.layers.filter(name=wanted["name"], deleted_at=None).first()
        fields = {k_: v for k_, v in wanted.items() if k_ not in ("members", "restrictions")}
        if layer is None:
            service_call(
                ctx,
                lpath,
                lambda w=wanted: services.layer_create(
                    schedule=schedule, effective_from=ctx.effective_at, **w
                ),
            )
            ctx.record("create", llabel)
            continue
        before, after = _layer_state(layer), _wanted_state(wanted)
        changes = {key: (before[key], after[key]) for key in after if before[key] != after[key]}
        if changes:
            fields.pop("name")
            when, impact = _layer_edit_plan(ctx, schedule, layer, wanted)
            service_call(
                ctx,
                lpath,
                lambda la=layer, w=wanted, f=fields, t=when: services.layer_update(
                    layer=la,
                    effective_from=t,
                    members=w["members"],
                    restrictions=w["restrictions"],
                    **f,
                ),
            )
            ctx.record("update", llabel, describe_diff(changes) + impact)
    for layer in schedule.layers.filter(deleted_at=None).exclude(name__in=seen):
        ctx.not_in_file(
            f"{label}.layers[{layer.name}]",
            lambda la=layer: services.layer_delete(layer=la, effective_from=ctx.effective_at),
            f"retired {_from(ctx)}; past shifts stay",
        )


def _layer_effective(ctx: ApplyContext, definition: ScheduleDefinition, layer: Layer) -> datetime:
    """When a layer edit of this apply takes effect: the apply's instant, or with
    ``--effective next-handoff`` the layer's first handoff after it."""
    if ctx.next_handoff:
        return layer_next_handoff(definition, layer_id=layer.pk, after=ctx.effective_at)
    return ctx.effective_at


def _layer_edit_plan(
    ctx: ApplyContext, schedule: Schedule, layer: Layer, wanted: dict[str, Any]
) -> tuple[datetime, str]:
    """When the edit takes effect, and the plan's words for it: "(from now on)" plus
    "on call now changes from X to Y at T" when the edit moves who is on call."""
    now = ctx.effective_at
    definition = schedule_definition(schedule.pk)
    when = _layer_effective(ctx, definition, layer)
    impact = layer_edit_impact(
        definition,
        layer_id=layer.pk,
        name=wanted["name"],
        level=wanted["level"],
        version=version_from_fields(wanted, effective_from=when, zone=schedule.time_zone),
        now=now,
        names={e.pk: e.display_name for e in wanted["members"]},
    )
    text = f" (from {_iso(when)})" if when != ctx.effective_at else f" ({_from(ctx)})"
    if impact.changes:
        text += "; " + impact.message()
    return when, text


def _apply_overrides(ctx: ApplyContext, schedule: Schedule, raw: list, path: str, label: str):
    now = timezone.now()
    keep: set[int] = set()
    for k, item in enumerate(raw):
        opath = f"{path}.overrides[{k}]"
        data = read_mapping(ctx, item, opath, OVERRIDE_FIELDS)
        engineer = _engineer(ctx, data["engineer"], f"{opath}.engineer")
        replace = _engineer(ctx, data["replace"], f"{opath}.replace") if data["replace"] else None
        start = _instant(ctx, data["start"], f"{opath}.start")
        end = _instant(ctx, data["end"], f"{opath}.end")
        existing = Override.objects.filter(
            schedule=schedule, engineer=engineer, replace_engineer=replace, start=start, end=end
        ).first()
        if existing is not None:
            keep.add(existing.pk)
            continue
        if end <= now:
            continue  # history: nothing to create
        override = service_call(
            ctx,
            opath,
            lambda e=engineer, r=replace, a=start, b=end, d=data: services.override_create(
                schedule=schedule, engineer=e, replace_engineer=r, start=a, end=b, note=d["note"]
            ),
        )
        keep.add(override.pk)
        ctx.record("create", f"{label}.overrides[{data['engineer']} {_iso(start)}]")
    for override in (
        schedule.overrides.filter(end__gt=now).exclude(pk__in=keep).select_related("engineer__user")
    ):
        ctx.not_in_file(
            f"{label}.overrides[{override.engineer.user.username} {_iso(override.start)}]",
            lambda o=override: services.override_delete(override=o),
        )


def schedules_apply(value: Any, ctx: ApplyContext) -> None:
    ctx.declared.setdefault("schedules", {})
    for i, raw in enumerate(_items(ctx, value, "schedules")):
        path = f"schedules[{i}]"
        data = read_mapping(ctx, raw, path, SCHEDULE_FIELDS)
        key = f"{data['team']}/{data['name']}"
        ctx.declare("schedules", key, f"{path}.name")
        label = f"schedules[{key}]"
        if ctx.is_declared("teams", data["team"]) is False:
            ctx.fail(f"{path}.team", f"team {data['team']!r} is not defined in the file")
        team = Team.objects.filter(slug=data["team"]).first()
        if team is None:
            ctx.fail(f"{path}.team", f"team {data['team']!r} does not exist")
        try:
            validate_time_zone(data["time_zone"])
        except ValidationError as exc:
            ctx.fail(f"{path}.time_zone", "; ".join(exc.messages))
        calendars = []
        for j, name in enumerate(data["holiday_calendars"]):
            cpath = f"{path}.holiday_calendars[{j}]"
            if ctx.is_declared("holiday_calendars", name) is False:
                ctx.fail(cpath, f"holiday calendar {name!r} is not defined in the file")
            calendar = HolidayCalendar.objects.current().filter(name=name).first()
            if calendar is None:
                ctx.fail(cpath, f"holiday calendar {name!r} does not exist")
            calendars.append(calendar)
        schedule = Schedule.objects.filter(team=team, name=data["name"]).first()
        if schedule is None:
            schedule = service_call(
                ctx,
                path,
                lambda t=team, d=data: services.schedule_create(
                    team=t,
                    name=d["name"],
                    time_zone=d["time_zone"],
                    description=d["description"],
                    swaps_need_approval=d["swaps_need_approval"],
                    time_off_needs_approval=d["time_off_needs_approval"],
                ),
            )
            service_call(
                ctx,
                f"{path}.holiday_calendars",
                lambda s=schedule, c=calendars: services.schedule_calendars_set(
                    schedule=s, calendars=c, at=ctx.effective_at
                ),
            )
            ctx.record("create", label)
        else:
            have_cals = sorted(c.name for c in schedule.holiday_calendars)
            changes = {
                k: (old, new)
                for k, old, new in (
                    ("time_zone", schedule.time_zone, data["time_zone"]),
                    ("description", schedule.description, data["description"]),
                    (
                        "swaps_need_approval",
                        schedule.swaps_need_approval,
                        data["swaps_need_approval"],
                    ),
                    (
                        "time_off_needs_approval",
                        schedule.time_off_needs_approval,
                        data["time_off_needs_approval"],
                    ),
                    ("holiday_calendars", have_cals, sorted(c.name for c in calendars)),
                )
                if old != new
            }
            if changes:
                service_call(
                    ctx,
                    path,
                    lambda s=schedule, d=data: services.schedule_update(
                        schedule=s,
                        time_zone=d["time_zone"],
                        description=d["description"],
                        swaps_need_approval=d["swaps_need_approval"],
                        time_off_needs_approval=d["time_off_needs_approval"],
                        effective_from=ctx.effective_at,
                    ),
                )
                service_call(
                    ctx,
                    f"{path}.holiday_calendars",
                    lambda s=schedule, c=calendars: services.schedule_calendars_set(
                        schedule=s, calendars=c, at=ctx.effective_at
                    ),
                )
                ctx.record("update", label, describe_diff(changes))
        _apply_layers(ctx, schedule, read_list(ctx, data["layers"], f"{path}.layers"), path, label)
        _apply_overrides(
            ctx, schedule, read_list(ctx, data["overrides"], f"{path}.overrides"), path, label
        )
    declared = set(ctx.declared["schedules"])
    for schedule in Schedule.objects.select_related("team"):
        key = f"{schedule.team.slug}/{schedule.name}"
        if key not in declared:
            ctx.not_in_file(
                f"schedules[{key}]", lambda s=schedule: services.schedule_delete(schedule=s)
            )


def schedules_export() -> list[dict]:
    now = timezone.now()
    out = []
    schedules = Schedule.objects.select_related("team").prefetch_related("calendar_links__calendar")
    for schedule in sorted(schedules, key=lambda s: (s.team.slug, s.name)):
        item: dict[str, Any] = {
            "team": schedule.team.slug,
            "name": schedule.name,
            "time_zone": schedule.time_zone,
        }
        if schedule.description:
            item["description"] = schedule.description
        if schedule.swaps_need_approval:
            item["swaps_need_approval"] = True
        if schedule.time_off_needs_approval:
            item["time_off_needs_approval"] = True
        calendars = sorted(c.name for c in schedule.holiday_calendars)
        if calendars:
            item["holiday_calendars"] = calendars
        layers = []
        for layer in schedule.layers.filter(deleted_at=None).order_by("-level", "name"):
            state = _layer_state(layer)
            entry: dict[str, Any] = {
                "name": layer.name,
                "level": state["level"],
                "start_date": state["start_date"].isoformat(),
                "handoff_time": state["handoff_time"].strftime("%H:%M"),
                "shift_length": state["shift_length"],
                "shift_unit": state["shift_unit"],
                "members": state["members"],
            }
            if state["restrictions"]:
                entry["restrictions"] = state["restrictions"]
            layers.append(entry)
        if layers:
            item["layers"] = layers
        overrides = []
        for o in (
            schedule.overrides.filter(end__gt=now)
            .select_related("engineer__user", "replace_engineer__user")
            .order_by("start", "id")
        ):
            entry = {
                "engineer": o.engineer.user.username,
                "start": _iso(o.start),
                "end": _iso(o.end),
            }
            if o.replace_engineer:
                entry["replace"] = o.replace_engineer.user.username
            if o.note:
                entry["note"] = o.note
            overrides.append(entry)
        if overrides:
            item["overrides"] = overrides
        out.append(item)
    return out


# --- time off -----------------------------------------------------------------------


def time_off_apply(value: Any, ctx: ApplyContext) -> None:
    now = timezone.now()
    keep: set[int] = set()
    for i, raw in enumerate(_items(ctx, value, "time_off")):
        path = f"time_off[{i}]"
        data = read_mapping(ctx, raw, path, TIME_OFF_FIELDS)
        engineer = _engineer(ctx, data["engineer"], f"{path}.engineer")
        read_choice(ctx, data["kind"], f"{path}.kind", TimeOff.Kind.values)
        start = _instant(ctx, data["start"], f"{path}.start")
        end = _instant(ctx, data["end"], f"{path}.end")
        label = f"time_off[{data['engineer']} {_iso(start)}]"
        existing = TimeOff.objects.filter(engineer=engineer, start=start, end=end).first()
        if existing is not None:
            keep.add(existing.pk)
            if (existing.kind, existing.note) != (data["kind"], data["note"]):
                service_call(
                    ctx,
                    path,
                    lambda e=existing, d=data: services.time_off_update(
                        time_off=e, kind=d["kind"], note=d["note"]
                    ),
                )
                ctx.record("update", label)
            continue
        if end <= now:
            continue
        row = service_call(
            ctx,
            path,
            lambda e=engineer, a=start, b=end, d=data: services.time_off_create(
                engineer=e, start=a, end=b, kind=d["kind"], note=d["note"]
            ),
        )
        keep.add(row.pk)
        ctx.record("create", label)
    for row in (
        TimeOff.objects.filter(end__gt=now).exclude(pk__in=keep).select_related("engineer__user")
    ):
        ctx.not_in_file(
            f"time_off[{row.engineer.user.username} {_iso(row.start)}]",
            lambda r=row: services.time_off_delete(time_off=r),
        )


def time_off_export() -> list[dict]:
    out = []
    rows = TimeOff.objects.filter(end__gt=timezone.now()).select_related("engineer__user")
    for row in sorted(rows, key=lambda r: (r.engineer.user.username, r.start)):
        entry = {
            "engineer": row.engineer.user.username,
            "start": _iso(row.start),
            "end": _iso(row.end),
            "kind": row.kind,
        }
        if row.note:
            entry["note"] = row.note
        out.append(entry)
    return out


register_section(
    ConfigSection(
        key="holiday_calendars",
        order=30,
        apply=holiday_calendars_apply,
        export=holiday_calendars_export,
    )
)
register_section(
    ConfigSection(key="schedules", order=40, apply=schedules_apply, export=schedules_export)
)
register_section(
    ConfigSection(key="time_off", order=45, apply=time_off_apply, export=time_off_export)
)
