"""Writes for schedules, layers, restrictions, overrides and time off.

Every layer edit writes a ``LayerVersion`` snapshot effective from ``effective_from``
(default: now; never in the past), so shifts already past keep their engineers.
Overrides and time off cannot start in the past either (a small clock skew allowance
is granted); removing one that already started ends it now instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from oncall.audit.services import audit_record, audit_snapshot, audited_delete
from oncall.people.models import Engineer, Team
from oncall.people.validators import validate_time_zone
from schedules.approvals import time_off_needs_approval
from schedules.holidays import holidays_set
from schedules.models import (
    MAX_SHIFT_LENGTH,
    HolidayCalendar,
    Layer,
    LayerMember,
    LayerVersion,
    Override,
    Restriction,
    Schedule,
    ScheduleCalendarLink,
    ShiftUnit,
    TimeOff,
)
from schedules.snapshots import layer_snapshot

# A request made "now" by a client whose clock is a little behind is still "now".
PAST_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class RestrictionSpec:
    weekdays: Sequence[int]
    start_time: time
    end_time: time
    business_hours: bool = False


def _effective(effective_from: datetime | None, field: str = "effective_from") -> datetime:
    """The instant an edit takes effect: now by default, else exactly the one given (so
    that several edits of one config apply share it), if not before now - PAST_TOLERANCE.
    A client's "now" a little behind is read as now by the API (``effective_from_clamp``)."""
    now = timezone.now()
    if effective_from is None:
        return now
    if timezone.is_naive(effective_from):
        raise ValidationError({field: "must include a UTC offset"})
    if effective_from < now - PAST_TOLERANCE:
        raise ValidationError({field: "edits cannot take effect in the past"})
    return effective_from


def effective_from_clamp(effective_from: datetime | None) -> datetime | None:
    """A requested moment that is already past (within PAST_TOLERANCE: a client clock a
    little behind) is now; later ones and None pass unchanged, earlier ones are refused
    by the service."""
    if effective_from is None or timezone.is_naive(effective_from):
        return effective_from
    now = timezone.now()
    if now - PAST_TOLERANCE <= effective_from < now:
        return now
    return effective_from


def _check_span(start: datetime, end: datetime) -> None:
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ValidationError({"start": "start and end must include a UTC offset"})
    if end <= start:
        raise ValidationError({"end": "must be after start"})


def _check_not_past(start: datetime) -> None:
    if start < timezone.now() - PAST_TOLERANCE:
        raise ValidationError({"start": "cannot be in the past: edits never rewrite the past"})


def _check_weekdays(weekdays: Sequence[int]) -> list[int]:
    try:
        days = sorted({int(d) for d in weekdays})
    except (TypeError, ValueError):
        raise ValidationError({"weekdays": "must be a list of integers 0-6"}) from None
    if not days or any(d < 0 or d > 6 for d in days):
        raise ValidationError({"weekdays": "must be a non-empty list of integers 0 (Mon)-6 (Sun)"})
    return days


def layer_version_write(*, layer: Layer, effective_from: datetime | None = None) -> LayerVersion:
    """Snapshot ``layer``'s current rows, in force from ``effective_from`` (default now).

    Versions planned after that moment are dropped: they were snapshots of the
    definition before this edit and would silently undo it.
    """
    when = _effective(effective_from)
    active = layer.deleted_at is None
    data = layer_snapshot(layer, time_zone=layer.schedule.time_zone)
    LayerVersion.objects.filter(layer=layer, effective_from__gt=when).delete()
    version, _ = LayerVersion.objects.update_or_create(
        layer=layer, effective_from=when, defaults={"active": active, "definition": data}
    )
    return version


def _from_note(effective_from: datetime | None) -> str:
    return f"effective from {effective_from.isoformat()}" if effective_from else ""


# --- schedules --------------------------------------------------------------------


@transaction.atomic
def schedule_create(
    *,
    team: Team,
    name: str,
    time_zone: str = "UTC",
    description: str = "",
    holiday_calendars: Sequence[HolidayCalendar] = (),
    swaps_need_approval: bool = False,
    time_off_needs_approval: bool = False,
) -> Schedule:
    validate_time_zone(time_zone)
    if Schedule.objects.filter(team=team, name=name).exists():
        raise ValidationError({"name": "this team already has a schedule with that name"})
    schedule = Schedule.objects.create(
        team=team,
        name=name,
        time_zone=time_zone,
        description=description,
        swaps_need_approval=swaps_need_approval,
        time_off_needs_approval=time_off_needs_approval,
    )
    schedule_calendars_set(schedule=schedule, calendars=holiday_calendars)
    audit_record("create", schedule)
    return schedule


@transaction.atomic
def schedule_update(
    *,
    schedule: Schedule,
    name: str | None = None,
    time_zone: str | None = None,
    description: str | None = None,
    holiday_calendars: Sequence[HolidayCalendar] | None = None,
    effective_from: datetime | None = None,
    swaps_need_approval: bool | None = None,
    time_off_needs_approval: bool | None = None,
) -> Schedule:
    before = audit_snapshot(schedule)
    if name is not None and name != schedule.name:
        if Schedule.objects.filter(team=schedule.team, name=name).exclude(pk=schedule.pk).exists():
            raise ValidationError({"name": "this team already has a schedule with that name"})
        schedule.name = name
    if description is not None:
        schedule.description = description
    if swaps_need_approval is not None:
        schedule.swaps_need_approval = swaps_need_approval
    if time_off_needs_approval is not None:
        schedule.time_off_needs_approval = time_off_needs_approval
    tz_changed = False
    if time_zone is not None and time_zone != schedule.time_zone:
        validate_time_zone(time_zone)
        schedule.time_zone = time_zone
        tz_changed = True
    schedule.save()
    if holiday_calendars is not None:
        schedule_calendars_set(schedule=schedule, calendars=holiday_calendars)
    if tz_changed:
        # Handoff times are read in the zone: a new zone is a new version of every layer.
        for layer in schedule.layers.filter(deleted_at=None):
            layer_version_write(layer=layer, effective_from=effective_from)
    audit_record("update", schedule, before=before)
    return schedule


def _check_current(calendars: Sequence[HolidayCalendar]) -> None:
    archived = [c.name for c in calendars if c.archived_at is not None]
    if archived:
        raise ValidationError({"holiday_calendars": f"archived calendar(s): {', '.join(archived)}"})


@transaction.atomic
def schedule_calendar_attach(*, schedule: Schedule, calendar: HolidayCalendar) -> bool:
    """Attach from now on (the past keeps its calendars); False if already attached."""
    _check_current([calendar])
    _link, created = ScheduleCalendarLink.objects.get_or_create(
        schedule=schedule, calendar=calendar, detached_at=None
    )
    if created:
        audit_record("attach", schedule, changes={"holiday_calendars": (None, calendar.pk)})
    return created


@transaction.atomic
def schedule_calendar_detach(*, schedule: Schedule, calendar: HolidayCalendar) -> bool:
    """Detach from now on; the time it was attached keeps its holidays. False if not attached."""
    detached = ScheduleCalendarLink.objects.filter(
        schedule=schedule, calendar=calendar, detached_at=None
    ).update(detached_at=timezone.now())
    if detached:
        audit_record("detach", schedule, changes={"holiday_calendars": (calendar.pk, None)})
    return bool(detached)


@transaction.atomic
def schedule_calendars_set(
    *, schedule: Schedule, calendars: Sequence[HolidayCalendar], at: datetime | None = None
) -> None:
    """Make ``calendars`` the attached set from now (or ``at``) on: detach the others,
    attach new ones."""
    _check_current(calendars)
    wanted = {c.pk: c for c in calendars}
    current = set(
        ScheduleCalendarLink.objects.filter(schedule=schedule, detached_at=None).values_list(
            "calendar_id", flat=True
        )
    )
    now = at or timezone.now()
    ScheduleCalendarLink.objects.filter(
        schedule=schedule, detached_at=None, calendar_id__in=current - set(wanted)
    ).update(detached_at=now)
    ScheduleCalendarLink.objects.bulk_create(
        ScheduleCalendarLink(schedule=schedule, calendar=wanted[pk], attached_at=now)
        for pk in sorted(set(wanted) - current)
    )


@transaction.atomic
def schedule_delete(*, schedule: Schedule) -> None:
    """Delete a schedule with its layers, versions, overrides and swaps (its history too)."""
    audited_delete(schedule)


@transaction.atomic
def holiday_calendar_save(
    *,
    calendar: HolidayCalendar | None = None,
    name: str,
    description: str = "",
    holidays: Sequence[tuple[date, str]] | None = None,
    at: datetime | None = None,
) -> HolidayCalendar:
    """Create or update a calendar (API, admin, config file); ``holidays`` (date, name)
    pairs replace the list from now (or ``at``: a config file's one instant)."""
    clash = HolidayCalendar.objects.current().filter(name=name)
    if calendar is not None:
        clash = clash.exclude(pk=calendar.pk)
    if clash.exists():
        raise ValidationError({"name": "a holiday calendar with this name exists"})
    calendar = calendar or HolidayCalendar()
    before = audit_snapshot(calendar)
    calendar.name, calendar.description = name, description
    calendar.save()
    if holidays is not None:
        # Removed dates keep applying to the time they were on the calendar.
        holidays_set(calendar=calendar, wanted=dict(holidays), replace=True, at=at)
    # Last, after the holiday rows it locks (see oncall/audit/README.md).
    audit_record("update" if before else "create", calendar, before=before)
    return calendar


@transaction.atomic
def holiday_calendar_archive(*, calendar: HolidayCalendar, at: datetime | None = None) -> bool:
    """Archive a calendar (what deleting one does): detach it from every schedule now (or
    ``at``).

    It leaves the lists; its holidays and links stay, so the time it was attached keeps its holiday
    coverage. False if it was already archived.
    """
    now = at or timezone.now()
    if not HolidayCalendar.objects.filter(pk=calendar.pk, archived_at=None).update(archived_at=now):
        return False
    calendar.archived_at = now
    ScheduleCalendarLink.objects.filter(calendar=calendar, detached_at=None).update(detached_at=now)
    audit_record("archive", calendar, changes={"archived_at": (None, now)})
    return True


# --- layers -----------------------------------------------------------------------


def _set_members(layer: Layer, members: Sequence[Engineer]) -> None:
    LayerMember.objects.filter(layer=layer).delete()
    LayerMember.objects.bulk_create(
        LayerMember(layer=layer, engineer=engineer, position=i)
        for i, engineer in enumerate(members)
    )


def _set_restrictions(layer: Layer, restrictions: Sequence[RestrictionSpec]) -> None:
    Restriction.objects.filter(layer=layer).delete()
    Restriction.objects.bulk_create(
        Restriction(
            layer=layer,
            weekdays=_check_weekdays(r.weekdays),
            start_time=r.start_time,
            end_time=r.end_time,
            business_hours=r.business_hours,
        )
        for r in restrictions
    )


def _check_layer_fields(shift_length: int, shift_unit: str) -> None:
    if shift_unit not in ShiftUnit.values:
        raise ValidationError({"shift_unit": f"must be one of {', '.join(ShiftUnit.values)}"})
    if shift_length < 1:
        raise ValidationError({"shift_length": "must be at least 1"})
    if shift_length > MAX_SHIFT_LENGTH:
        raise ValidationError({"shift_length": f"must be at most {MAX_SHIFT_LENGTH}"})


@transaction.atomic
def layer_create(
    *,
    schedule: Schedule,
    name: str,
    start_date: date,
    members: Sequence[Engineer] = (),
    level: int | None = None,
    handoff_time: time = time(9, 0),
    shift_length: int = 1,
    shift_unit: str = ShiftUnit.WEEKS,
    restrictions: Sequence[RestrictionSpec] = (),
    effective_from: datetime | None = None,
) -> Layer:
    _check_layer_fields(shift_length, shift_unit)
    if level is None:
        top = schedule.layers.filter(deleted_at=None).order_by("-level").first()
        level = top.level + 1 if top else 0
    layer = Layer.objects.create(
        schedule=schedule,
        name=name,
        level=level,
        start_date=start_date,
        handoff_time=handoff_time,
        shift_length=shift_length,
        shift_unit=shift_unit,
    )
    _set_members(layer, members)
    _set_restrictions(layer, restrictions)
    layer_version_write(layer=layer, effective_from=effective_from)
    audit_record("create", layer, note=_from_note(effective_from))
    return layer


@transaction.atomic
def layer_update(
    *,
    layer: Layer,
    effective_from: datetime | None = None,
    members: Sequence[Engineer] | None = None,
    restrictions: Sequence[RestrictionSpec] | None = None,
    **fields: object,
) -> Layer:
    """Change any of name, level, start_date, handoff_time, shift_length, shift_unit,
    members and restrictions, from ``effective_from`` (default now) on."""
    allowed = {"name", "level", "start_date", "handoff_time", "shift_length", "shift_unit"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({sorted(unknown)[0]: "is not a layer field"})
    if layer.deleted_at is not None:
        raise ValidationError({"layer": "was deleted"})
    before = audit_snapshot(layer)
    for key, value in fields.items():
        setattr(layer, key, value)
    _check_layer_fields(layer.shift_length, layer.shift_unit)
    layer.save()
    if members is not None:
        _set_members(layer, members)
    if restrictions is not None:
        _set_restrictions(layer, restrictions)
    layer_version_write(layer=layer, effective_from=effective_from)
    audit_record("update", layer, before=before, note=_from_note(effective_from))
    return layer


@transaction.atomic
def layer_delete(*, layer: Layer, effective_from: datetime | None = None) -> Layer:
    """Stop the layer from ``effective_from`` on; its past shifts stay."""
    when = _effective(effective_from)
    updated = Layer.objects.filter(pk=layer.pk, deleted_at=None).update(deleted_at=when)
    if updated:
        layer.deleted_at = when
        layer_version_write(layer=layer, effective_from=when)
        audit_record("delete", layer, changes={"deleted_at": (None, when)})
    return layer


@transaction.atomic
def restriction_add(
    *, layer: Layer, spec: RestrictionSpec, effective_from: datetime | None = None
) -> Restriction:
    restriction = Restriction.objects.create(
        layer=layer,
        weekdays=_check_weekdays(spec.weekdays),
        start_time=spec.start_time,
        end_time=spec.end_time,
        business_hours=spec.business_hours,
    )
    layer_version_write(layer=layer, effective_from=effective_from)
    audit_record("create", restriction, note=_from_note(effective_from))
    return restriction


@transaction.atomic
def restriction_update(
    *, restriction: Restriction, spec: RestrictionSpec, effective_from: datetime | None = None
) -> Restriction:
    before = audit_snapshot(restriction)
    restriction.weekdays = _check_weekdays(spec.weekdays)
    restriction.start_time = spec.start_time
    restriction.end_time = spec.end_time
    restriction.business_hours = spec.business_hours
    restriction.save()
    layer_version_write(layer=restriction.layer, effective_from=effective_from)
    audit_record("update", restriction, before=before, note=_from_note(effective_from))
    return restriction


@transaction.atomic
def restriction_delete(*, restriction: Restriction, effective_from: datetime | None = None) -> None:
    layer = restriction.layer
    audit_record("delete", restriction, note=_from_note(effective_from))
    restriction.delete()
    layer_version_write(layer=layer, effective_from=effective_from)


# --- overrides and time off -------------------------------------------------------


@transaction.atomic
def override_create(
    *,
    schedule: Schedule,
    engineer: Engineer,
    start: datetime,
    end: datetime,
    replace_engineer: Engineer | None = None,
    note: str = "",
    created_by=None,
) -> Override:
    _check_span(start, end)
    _check_not_past(start)
    if replace_engineer is not None and replace_engineer.pk == engineer.pk:
        raise ValidationError({"replace_engineer": "must differ from engineer"})
    override = Override.objects.create(
        schedule=schedule,
        engineer=engineer,
        replace_engineer=replace_engineer,
        start=start,
        end=end,
        note=note,
        created_by=created_by,
        created_at=timezone.now(),
    )
    audit_record("create", override)
    return override


@transaction.atomic
def override_update(*, override: Override, **fields: object) -> Override:
    """Change an override that has not started yet (engineer, replace_engineer, start,
    end, note); one already running can only be ended early through delete."""
    allowed = {"engineer", "replace_engineer", "start", "end", "note"}
    if unknown := set(fields) - allowed:
        raise ValidationError({sorted(unknown)[0]: "cannot be changed"})
    if override.start < timezone.now():
        raise ValidationError({"start": "the override already started; delete it to end it now"})
    before = audit_snapshot(override)
    for key, value in fields.items():
        setattr(override, key, value)
    _check_span(override.start, override.end)
    _check_not_past(override.start)
    if override.replace_engineer_id and override.replace_engineer_id == override.engineer_id:
        raise ValidationError({"replace_engineer": "must differ from engineer"})
    override.save()
    audit_record("update", override, before=before)
    return override


@transaction.atomic
def override_delete(*, override: Override) -> Override | None:
    """Delete a future override; one that already started ends now (the past stays)."""
    now = timezone.now()
    if override.start >= now:
        audit_record("delete", override)
        override.delete()
        return None
    if override.end > now:
        Override.objects.filter(pk=override.pk).update(end=now)
        audit_record("end", override, changes={"end": (override.end, now)})
        override.end = now
    return override


@transaction.atomic
def time_off_create(
    *,
    engineer: Engineer,
    start: datetime,
    end: datetime,
    kind: str = "vacation",
    note: str = "",
    user=None,  # noqa: ANN001 - the booking user; None: the system (config as code)
) -> TimeOff:
    """Where a schedule of the engineer requires approval and ``user`` is not an admin
    of its team, the time off waits ("awaiting") and does not count until approved."""
    _check_span(start, end)
    _check_not_past(start)
    if kind not in TimeOff.Kind.values:
        raise ValidationError({"kind": f"must be one of {', '.join(TimeOff.Kind.values)}"})
    status = (
        TimeOff.Status.AWAITING
        if time_off_needs_approval(engineer=engineer, user=user)
        else TimeOff.Status.APPROVED
    )
    time_off = TimeOff.objects.create(
        engineer=engineer, start=start, end=end, kind=kind, note=note, status=status
    )
    audit_record("create", time_off)
    return time_off


@transaction.atomic
def time_off_update(*, time_off: TimeOff, **fields: object) -> TimeOff:
    """Change time off not started yet; time off already running may only end sooner
    or later (its past part stays)."""
    allowed = {"kind", "start", "end", "note"}
    if unknown := set(fields) - allowed:
        raise ValidationError({sorted(unknown)[0]: "cannot be changed"})
    now = timezone.now()
    started = time_off.start < now
    if started and "start" in fields and fields["start"] != time_off.start:
        raise ValidationError({"start": "the time off already started"})
    before = audit_snapshot(time_off)
    for key, value in fields.items():
        setattr(time_off, key, value)
    _check_span(time_off.start, time_off.end)
    if not started:
        _check_not_past(time_off.start)
    elif time_off.end < now - PAST_TOLERANCE:
        raise ValidationError({"end": "cannot be moved into the past"})
    if time_off.kind not in TimeOff.Kind.values:
        raise ValidationError({"kind": f"must be one of {', '.join(TimeOff.Kind.values)}"})
    time_off.save()
    audit_record("update", time_off, before=before)
    return time_off


@transaction.atomic
def time_off_delete(*, time_off: TimeOff) -> TimeOff | None:
    """Delete future time off; time off already started ends now."""
    now = timezone.now()
    if time_off.start >= now:
        audit_record("delete", time_off)
        time_off.delete()
        return None
    if time_off.end > now:
        TimeOff.objects.filter(pk=time_off.pk).update(end=now)
        audit_record("end", time_off, changes={"end": (time_off.end, now)})
        time_off.end = now
    return time_off
