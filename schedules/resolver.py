"""The pure schedule resolver: a definition + [start, end) -> ordered shifts.

No database access here: callers load a ``ScheduleDefinition`` once
(``schedules.selectors.schedule_definition``) and ask it as often as they like.

Rules, in the order they are applied:

1. **Rotation.** A layer version hands off at wall-clock times in its time zone:
   slot ``k`` starts at ``start_date + handoff_time + k * shift_length`` computed on
   the *local* clock, then converted to UTC. A daily 09:00 handoff therefore stays at
   09:00 local across DST, and a 1-day ("24 h") shift over the spring-forward night
   lasts 23 hours (25 over the autumn night). Slot ``k`` belongs to
   ``members[k % len(members)]``; an engineer may appear several times.
   Nothing is covered before the rotation start.
2. **Local times that do not exist or happen twice** follow RFC 5545 §3.3.5, i.e.
   ``fold=0`` in PEP 495 terms:
   * a nonexistent local time (inside the spring-forward gap) is read with the UTC
     offset in force *before* the gap, which moves it forward by the gap length:
     a 02:30 handoff in Europe/Berlin on the last Sunday of March happens at
     03:30 CEST (01:30 UTC); a 02:00 handoff happens at 03:00 CEST, the first
     valid instant;
   * an ambiguous local time (inside the fall-back overlap) means its *first*
     occurrence: 02:30 on the last Sunday of October in Berlin is 02:30 CEST
     (00:30 UTC).
   If two consecutive handoffs map to the same instant (an hourly rotation over the
   gap), that slot is empty and the rotation continues with the next member.
3. **Versions.** A layer has versions, each effective from an instant; version ``i``
   governs ``[effective_from_i, effective_from_{i+1})``. Edits add versions from
   "now" (or a chosen later handoff), so past shifts never change.
4. **Restrictions** (weekly windows in the layer's time zone) cut a layer's slots to
   the windows. A window whose end time is not after its start time ends the next
   day (``00:00-00:00`` = the whole day). A *business-hours* window does not apply
   on the schedule's holidays (local calendar days), so lower layers cover them.
5. **Time off.** Where the slot's member is off, the stretch goes to the next member
   in rotation order who is not off (reason "substituting for X"); if everyone is
   off, the layer has a gap there.
6. **Layers.** Higher ``level`` wins; lower layers fill what higher layers leave
   uncovered (including their time-off gaps).
7. **Overrides** win over all layers and are applied in creation order, so the most
   recently created wins where they overlap. A *replace* override only takes the
   stretches where ``replace_engineer_id`` is on call at that point. An override
   never puts its engineer on call during their own time off (the shift beneath
   stays).
8. Where nothing covers a time, nobody is on call (no shift is produced).
9. Shifts are split at holiday boundaries and flagged ``holiday=True`` inside them;
   adjacent shifts with identical attributes are merged.
10. **Holiday edits never rewrite the past.** A holiday (``HolidayDef``) applies at
    instant ``t`` iff ``added_at <= t < removed_at`` (no ``added_at``: since always; no
    ``removed_at``: for ever), and only inside its local calendar day. Adding today's
    date at 14:00 therefore makes it a holiday from 14:00 on; removing a date keeps it
    a holiday for the time it was on the calendar. A plain ``date`` is always in effect.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

SHIFT_UNITS = {
    "hours": timedelta(hours=1),
    "days": timedelta(days=1),
    "weeks": timedelta(weeks=1),
}

LAYER = "layer"
OVERRIDE = "override"

Interval = tuple[datetime, datetime]


# --- the definition ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RestrictionDef:
    """A weekly window: on each of ``weekdays`` (0 = Monday) from ``start`` to ``end``."""

    weekdays: frozenset[int]
    start: time
    end: time
    business_hours: bool = False


@dataclass(frozen=True, slots=True)
class LayerVersionDef:
    effective_from: datetime  # aware
    members: tuple[int, ...]
    start_date: date
    handoff_time: time
    shift_length: int = 1
    shift_unit: str = "weeks"
    restrictions: tuple[RestrictionDef, ...] = ()
    time_zone: str = "UTC"
    active: bool = True  # False: the layer was deleted from this moment on

    @property
    def step(self) -> timedelta:
        return SHIFT_UNITS[self.shift_unit] * self.shift_length

    @property
    def rotation_start(self) -> datetime:
        """The first handoff, as a naive local datetime."""
        return datetime.combine(self.start_date, self.handoff_time)


@dataclass(frozen=True, slots=True)
class LayerDef:
    id: int
    name: str
    level: int
    versions: tuple[LayerVersionDef, ...]  # sorted by effective_from


@dataclass(frozen=True, slots=True)
class OverrideDef:
    id: int
    engineer_id: int
    start: datetime
    end: datetime
    created_at: datetime
    replace_engineer_id: int | None = None


@dataclass(frozen=True, slots=True)
class TimeOffDef:
    engineer_id: int
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class HolidayDef:
    """A holiday date and the period it was on the calendar: [added_at, removed_at)."""

    day: date
    added_at: datetime | None = None
    removed_at: datetime | None = None


@dataclass
class ScheduleDefinition:
    id: int
    name: str
    time_zone: str
    layers: list[LayerDef] = field(default_factory=list)
    overrides: list[OverrideDef] = field(default_factory=list)
    time_off: list[TimeOffDef] = field(default_factory=list)
    holidays: frozenset[date | HolidayDef] = frozenset()
    names: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Indexes built once so that repeated "who is on call" calls stay cheap.
        self.tz = ZoneInfo(self.time_zone)
        self.layers_by_precedence = sorted(self.layers, key=lambda la: (-la.level, la.id))
        self.overrides_in_order = sorted(self.overrides, key=lambda o: (o.created_at, o.id))
        off: dict[int, list[Interval]] = {}
        for entry in self.time_off:
            if entry.end > entry.start:
                off.setdefault(entry.engineer_id, []).append((entry.start, entry.end))
        self.off_by_engineer = {eid: _union(spans) for eid, spans in off.items()}

    def name_of(self, engineer_id: int | None) -> str:
        if engineer_id is None:
            return ""
        return self.names.get(engineer_id, f"engineer {engineer_id}")


@dataclass(frozen=True, slots=True)
class Shift:
    engineer_id: int
    start: datetime  # UTC
    end: datetime  # UTC, exclusive
    source_kind: str  # "layer" | "override"
    source_id: int
    reason: str
    substitute_for: int | None = None
    holiday: bool = False

    @property
    def source(self) -> str:
        return f"{self.source_kind}:{self.source_id}"

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


# --- time helpers -----------------------------------------------------------------


@lru_cache(maxsize=1 << 16)
def localize(naive: datetime, tz: ZoneInfo) -> datetime:
    """A local wall-clock time -> the UTC instant (RFC 5545 rule, see module doc).

    Cached: the same handoffs and window edges come up in every resolve of a schedule.
    """
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def to_local_naive(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def _second(span: Interval) -> datetime:
    return span[1]


def _union(spans: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for start, end in sorted(spans):
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _subtract(spans: list[Interval], holes: list[Interval]) -> list[Interval]:
    """``spans`` minus ``holes``; both sorted, ``holes`` merged."""
    out: list[Interval] = []
    if not holes:
        return list(spans)
    j = 0
    for start, end in spans:
        while j < len(holes) and holes[j][1] <= start:
            j += 1
        cur = start
        k = j
        while k < len(holes) and holes[k][0] < end:
            h_start, h_end = holes[k]
            if h_start > cur:
                out.append((cur, h_start))
            cur = max(cur, h_end)
            if cur >= end:
                break
            k += 1
        if cur < end:
            out.append((cur, end))
    return out


def _overlapping(
    spans: list[Interval], start: datetime, end: datetime, ends: list[datetime] | None = None
) -> list[Interval]:
    """The parts of sorted, merged ``spans`` inside [start, end); ``ends`` (the spans'
    end times, precomputed by callers in loops) saves a key function per bisect."""
    if not spans:
        return []
    i = bisect_right(ends, start) if ends is not None else bisect_right(spans, start, key=_second)
    out = []
    while i < len(spans) and spans[i][0] < end:
        out.append((max(spans[i][0], start), min(spans[i][1], end)))
        i += 1
    return out


def holiday_spans(
    holidays: Iterable[date | HolidayDef], tz: ZoneInfo, start: datetime, end: datetime
) -> list[Interval]:
    """Holiday local days, each cut to the period it was on the calendar, as UTC
    intervals overlapping [start, end)."""
    first = to_local_naive(start, tz).date() - timedelta(days=1)
    last = to_local_naive(end, tz).date() + timedelta(days=1)
    spans: list[Interval] = []
    for holiday in holidays:
        if isinstance(holiday, HolidayDef):
            day, added_at, removed_at = holiday.day, holiday.added_at, holiday.removed_at
        else:
            day, added_at, removed_at = holiday, None, None
        if not first <= day <= last:
            continue
        a = localize(datetime.combine(day, time()), tz)
        b = localize(datetime.combine(day + timedelta(days=1), time()), tz)
        if added_at is not None:
            a = max(a, added_at)
        if removed_at is not None:
            b = min(b, removed_at)
        if b > a:
            spans.append((a, b))
    return _union(spans)


# --- one layer --------------------------------------------------------------------


def rotation_slots(
    version: LayerVersionDef, start: datetime, end: datetime
) -> Iterator[tuple[int, datetime, datetime]]:
    """(k, slot start, slot end) for every non-empty rotation slot overlapping [start, end)."""
    tz = ZoneInfo(version.time_zone)
    step = version.step
    origin = version.rotation_start
    k = max(0, (to_local_naive(start, tz) - origin) // step - 1)
    slot_start = localize(origin + k * step, tz)
    while slot_start < end:
        slot_end = max(localize(origin + (k + 1) * step, tz), slot_start)
        if slot_end > start and slot_end > slot_start:
            yield k, slot_start, slot_end
        slot_start = slot_end
        k += 1


def next_handoff(version: LayerVersionDef, after: datetime) -> datetime:
    """The first handoff of ``version`` at or after ``after`` (for edits "at the next handoff")."""
    for _k, slot_start, slot_end in rotation_slots(version, after, after + version.step * 2):
        if slot_start >= after:
            return slot_start
        if slot_end >= after:
            return slot_end
    return after


def restriction_windows(
    restrictions: tuple[RestrictionDef, ...],
    tz: ZoneInfo,
    start: datetime,
    end: datetime,
    holidays: list[Interval],
) -> list[Interval]:
    """The union of the weekly windows inside [start, end), as UTC intervals."""
    day = to_local_naive(start, tz).date() - timedelta(days=1)
    last = to_local_naive(end, tz).date()
    plain: list[Interval] = []
    business: list[Interval] = []
    while day <= last:
        weekday = day.weekday()
        for r in restrictions:
            if weekday not in r.weekdays:
                continue
            w_start = datetime.combine(day, r.start)
            w_end = datetime.combine(day if r.end > r.start else day + timedelta(days=1), r.end)
            span = (max(localize(w_start, tz), start), min(localize(w_end, tz), end))
            if span[1] > span[0]:
                (business if r.business_hours else plain).append(span)
        day += timedelta(days=1)
    if business and holidays:
        business = _subtract(_union(business), holidays)
    return _union(plain + business)


@dataclass(slots=True)
class _Piece:
    start: datetime
    end: datetime
    engineer_id: int
    substitute_for: int | None


def _pick_members(
    candidates: list[int],
    start: datetime,
    end: datetime,
    off_by_engineer: dict[int, list[Interval]],
) -> list[_Piece]:
    """Split [start, end) where anyone's time off changes; give each part to the first
    candidate not off (``candidates[0]`` is the slot's own member)."""
    first = off_by_engineer.get(candidates[0])
    if not first or not _overlapping(first, start, end):
        return [_Piece(start, end, candidates[0], None)]
    offs = {c: _overlapping(off_by_engineer.get(c, []), start, end) for c in candidates}
    cuts = {start, end}
    for spans in offs.values():
        for s, e in spans:
            cuts.add(s)
            cuts.add(e)
    points = sorted(cuts)
    pieces: list[_Piece] = []
    for a, b in zip(points, points[1:], strict=False):
        chosen = None
        for c in candidates:
            if not any(s <= a and b <= e for s, e in offs[c]):
                chosen = c
                break
        if chosen is None:
            continue  # everyone is off: a gap in this layer
        sub = None if chosen == candidates[0] else candidates[0]
        last = pieces[-1] if pieces else None
        if last and last.end == a and last.engineer_id == chosen and last.substitute_for == sub:
            last.end = b
        else:
            pieces.append(_Piece(a, b, chosen, sub))
    return pieces


def _layer_shifts(
    layer: LayerDef,
    definition: ScheduleDefinition,
    start: datetime,
    end: datetime,
    holidays: list[Interval],
) -> list[Shift]:
    shifts: list[Shift] = []
    versions = layer.versions
    for i, version in enumerate(versions):
        v_start = max(version.effective_from, start)
        v_end = min(versions[i + 1].effective_from, end) if i + 1 < len(versions) else end
        if v_end <= v_start or not version.active or not version.members:
            continue
        tz = ZoneInfo(version.time_zone)
        windows: list[Interval] | None = None
        window_ends: list[datetime] = []
        if version.restrictions:
            windows = restriction_windows(version.restrictions, tz, v_start, v_end, holidays)
            window_ends = [w[1] for w in windows]
        members = version.members
        count = len(members)
        for k, slot_start, slot_end in rotation_slots(version, v_start, v_end):
            s, e = max(slot_start, v_start), min(slot_end, v_end)
            spans = [(s, e)] if windows is None else _overlapping(windows, s, e, window_ends)
            if not spans:
                continue
            own = members[k % count]
            own_off = definition.off_by_engineer.get(own)
            rotation_reason = f"rotation: {layer.name}"
            for a, b in spans:
                if not own_off or not _overlapping(own_off, a, b):
                    # The common case: the slot's member is not off.
                    shifts.append(Shift(own, a, b, LAYER, layer.id, rotation_reason))
                    continue
                # Candidates in rotation order from this slot's member, each once.
                candidates = list(dict.fromkeys(members[(k + j) % count] for j in range(count)))
                for piece in _pick_members(candidates, a, b, definition.off_by_engineer):
                    if piece.substitute_for is None:
                        reason = rotation_reason
                    else:
                        reason = f"substituting for {definition.name_of(piece.substitute_for)}"
                    shifts.append(
                        Shift(
                            piece.engineer_id,
                            piece.start,
                            piece.end,
                            LAYER,
                            layer.id,
                            reason,
                            piece.substitute_for,
                        )
                    )
    return shifts


# --- putting it together ----------------------------------------------------------


def _start_key(shift: Shift) -> datetime:
    return shift.start


def _end_key(shift: Shift) -> datetime:
    return shift.end


def _with_span(shift: Shift, start: datetime, end: datetime) -> Shift:
    return Shift(
        shift.engineer_id,
        start,
        end,
        shift.source_kind,
        shift.source_id,
        shift.reason,
        shift.substitute_for,
        shift.holiday,
    )


def _apply_override(timeline: list[Shift], override: OverrideDef, span: Interval, name_of) -> None:
    """Paint one override span onto the sorted, non-overlapping ``timeline`` in place."""
    s, e = span
    i = bisect_right(timeline, s, key=_end_key)
    j = bisect_left(timeline, e, key=_start_key)
    old = timeline[i:j]
    new: list[Shift] = []
    if override.replace_engineer_id is None:
        if old and old[0].start < s:
            new.append(_with_span(old[0], old[0].start, s))
        new.append(Shift(override.engineer_id, s, e, OVERRIDE, override.id, "override"))
        if old and old[-1].end > e:
            new.append(_with_span(old[-1], e, old[-1].end))
    else:
        reason = f"override replacing {name_of(override.replace_engineer_id)}"
        for shift in old:
            if shift.engineer_id != override.replace_engineer_id:
                new.append(shift)
                continue
            a, b = max(shift.start, s), min(shift.end, e)
            if shift.start < a:
                new.append(_with_span(shift, shift.start, a))
            new.append(
                Shift(
                    override.engineer_id,
                    a,
                    b,
                    OVERRIDE,
                    override.id,
                    reason,
                    override.replace_engineer_id,
                )
            )
            if b < shift.end:
                new.append(_with_span(shift, b, shift.end))
    timeline[i:j] = new


def _uncovered_parts(shifts: list[Shift], covered: list[Interval]) -> Iterator[Shift]:
    """The parts of sorted ``shifts`` outside sorted, merged ``covered`` (one sweep)."""
    j = 0
    n = len(covered)
    for shift in shifts:
        start, end = shift.start, shift.end
        while j < n and covered[j][1] <= start:
            j += 1
        cur = start
        k = j
        while k < n and covered[k][0] < end:
            h_start, h_end = covered[k]
            if h_start > cur:
                yield shift if (cur, h_start) == (start, end) else _with_span(shift, cur, h_start)
            if h_end > cur:
                cur = h_end
            if cur >= end:
                break
            k += 1
        if cur < end:
            yield shift if cur == start else _with_span(shift, cur, end)


def _flag_holidays(shifts: list[Shift], holidays: list[Interval]) -> list[Shift]:
    if not holidays:
        return shifts
    out: list[Shift] = []
    for shift in shifts:
        inside = _overlapping(holidays, shift.start, shift.end)
        if not inside:
            out.append(shift)
            continue
        cur = shift.start
        for a, b in inside:
            if a > cur:
                out.append(_with_span(shift, cur, a))
            out.append(
                Shift(
                    shift.engineer_id,
                    a,
                    b,
                    shift.source_kind,
                    shift.source_id,
                    shift.reason,
                    shift.substitute_for,
                    True,
                )
            )
            cur = b
        if cur < shift.end:
            out.append(_with_span(shift, cur, shift.end))
    return out


def same_shift(a: Shift, b: Shift) -> bool:
    """Whether ``a`` and ``b`` differ only in their span (adjacent ones are one shift)."""
    return (
        a.engineer_id == b.engineer_id
        and a.source_kind == b.source_kind
        and a.source_id == b.source_id
        and a.reason == b.reason
        and a.substitute_for == b.substitute_for
        and a.holiday == b.holiday
    )


def _merge(shifts: list[Shift]) -> list[Shift]:
    out: list[Shift] = []
    for shift in shifts:
        if out:
            prev = out[-1]
            if prev.end == shift.start and same_shift(prev, shift):
                out[-1] = _with_span(prev, prev.start, shift.end)
                continue
        out.append(shift)
    return out


def resolve(definition: ScheduleDefinition, start: datetime, end: datetime) -> list[Shift]:
    """Every shift overlapping [start, end), clipped to it, ordered by start, never
    overlapping. Times in UTC."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return []
    holidays = holiday_spans(definition.holidays, definition.tz, start, end)

    # Layers, highest first; each fills only what the ones above left uncovered.
    timeline: list[Shift] = []
    covered: list[Interval] = []
    for layer in definition.layers_by_precedence:
        own = _layer_shifts(layer, definition, start, end, holidays)
        if not own:
            continue
        if not covered:
            timeline.extend(own)
        else:
            timeline.extend(_uncovered_parts(own, covered))
        covered = _union(covered + [(s.start, s.end) for s in own])
    timeline.sort(key=_start_key)

    # Overrides in creation order: the latest created wins where they overlap.
    for override in definition.overrides_in_order:
        if override.end <= start or override.start >= end or override.end <= override.start:
            continue
        span = (max(override.start, start), min(override.end, end))
        own_off = definition.off_by_engineer.get(override.engineer_id)
        spans = _subtract([span], own_off) if own_off else [span]
        for piece in spans:
            _apply_override(timeline, override, piece, definition.name_of)

    return _merge(_flag_holidays(timeline, holidays))


def _earliest(definition: ScheduleDefinition) -> datetime | None:
    """No shift starts before this (the first layer version or override), None if empty."""
    starts = [la.versions[0].effective_from for la in definition.layers if la.versions]
    starts += [o.start for o in definition.overrides]
    return min(starts) if starts else None


def resolve_whole(definition: ScheduleDefinition, start: datetime, end: datetime) -> list[Shift]:
    """``resolve``, except that the shift running at ``start`` keeps its real start.

    Feeds use it so that the oldest event (and its UID, derived from its start) stays
    the same on every poll instead of moving with the window. The real start is found
    by looking back 1, 4, 16... weeks until the shift starts inside the look-back or
    the look-back reaches the definition's first instant.
    """
    shifts = resolve(definition, start, end)
    if not shifts or shifts[0].start > start.astimezone(UTC):
        return shifts
    first, floor = shifts[0], _earliest(definition)
    reach = timedelta(weeks=1)
    while True:
        low = first.start - reach
        before = resolve(definition, low, first.start + timedelta(microseconds=1))
        found = before[-1] if before else None
        if found is None or not same_shift(found, first) or found.end <= first.start:
            return shifts  # cannot happen with a consistent resolver; keep the cut
        if found.start > low or floor is None or low <= floor:
            shifts[0] = _with_span(first, found.start, first.end)
            return shifts
        reach *= 4


def oncall_at(definition: ScheduleDefinition, at: datetime) -> list[int]:
    """Engineer ids on call at ``at`` in precedence order ([] for a gap)."""
    shifts = resolve(definition, at, at + timedelta(microseconds=1))
    return [shifts[0].engineer_id] if shifts else []


def shift_at(
    definition: ScheduleDefinition, at: datetime, horizon: timedelta = timedelta(days=35)
) -> Shift | None:
    """The shift covering ``at`` with its full extent (looked up within ``horizon`` each
    side), or None for a gap."""
    shifts = resolve(definition, at - horizon, at + horizon)
    i = bisect_right(shifts, at, key=_start_key) - 1
    if i >= 0 and shifts[i].end > at:
        return shifts[i]
    return None
