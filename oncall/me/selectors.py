"""What /me/ shows, read for one engineer, every time in the engineer's zone."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from oncall.people.models import Engineer
from oncall.timefmt import local_text
from paging.models import Incident
from schedules.models import FeedToken, Layer, Schedule, SwapRequest
from schedules.resolver import Shift, same_shift
from schedules.selectors import engineer_shifts

AHEAD = timedelta(weeks=4)
# Read this far past the four weeks, so the last shift shows its real end rather than
# the end of the window.
TAIL = timedelta(days=31)


@dataclass(frozen=True)
class ShiftRow:
    schedule_id: int
    schedule: str
    layer: str
    why: str  # rotation | override | swap | substitute
    detail: str
    start: datetime
    end: datetime
    start_text: str
    end_text: str
    holiday: bool = False  # some of it falls on one of the schedule's holidays

    @property
    def key(self) -> str:
        """Names this shift in the swap form: schedule, start and end."""
        return f"{self.schedule_id}|{self.start.isoformat()}|{self.end.isoformat()}"


def _why(shift: Shift, swap_overrides: set[int]) -> tuple[str, str]:
    if shift.source_kind == "override":
        return ("swap" if shift.source_id in swap_overrides else "override"), shift.reason
    if shift.substitute_for is not None or shift.reason.startswith("substituting"):
        return "substitute", shift.reason
    return "rotation", ""


def my_shifts(*, engineer: Engineer, now: datetime, zone: str = "") -> list[ShiftRow]:
    """The engineer's shifts running now or starting in the next four weeks, by start;
    times in ``zone`` (a team admin's, reading a teammate's) or else the engineer's own."""
    zone = zone or engineer.time_zone
    pairs = _whole_shifts(
        engineer_shifts(engineer_id=engineer.pk, start=now, end=now + AHEAD + TAIL, whole=True),
        before=now + AHEAD,
    )
    schedules = dict(
        Schedule.objects.filter(pk__in={sid for sid, _ in pairs}).values_list("pk", "name")
    )
    layer_ids = {s.source_id for _, s in pairs if s.source_kind == "layer"}
    layers = dict(Layer.objects.filter(pk__in=layer_ids).values_list("pk", "name"))
    override_ids = {s.source_id for _, s in pairs if s.source_kind == "override"}
    swap_overrides = set(
        SwapRequest.objects.filter(override_id__in=override_ids).values_list(
            "override_id", flat=True
        )
    )
    rows = []
    for schedule_id, shift in pairs:
        why, detail = _why(shift, swap_overrides)
        layer = layers.get(shift.source_id, "") if shift.source_kind == "layer" else "override"
        rows.append(
            ShiftRow(
                schedule_id=schedule_id,
                schedule=schedules.get(schedule_id, f"#{schedule_id}"),
                layer=layer,
                why=why,
                detail=detail,
                start=shift.start,
                end=shift.end,
                start_text=local_text(shift.start, zone),
                end_text=local_text(shift.end, zone),
                holiday=shift.holiday,
            )
        )
    return rows


def _whole_shifts(pairs: list[tuple[int, Shift]], *, before: datetime) -> list[tuple[int, Shift]]:
    """Pieces of one shift as one (the resolver cuts a shift where a holiday starts and
    ends: holiday=True if any piece is one), keeping those that start ``before``."""
    last: dict[int, int] = {}  # schedule id -> index in out of its latest shift
    out: list[tuple[int, Shift]] = []
    for schedule_id, shift in pairs:
        index = last.get(schedule_id)
        if index is not None:
            prev = out[index][1]
            if prev.end == shift.start and same_shift(
                replace(prev, holiday=False), replace(shift, holiday=False)
            ):
                merged = replace(prev, end=shift.end, holiday=prev.holiday or shift.holiday)
                out[index] = (schedule_id, merged)
                continue
        if shift.start >= before:
            continue
        last[schedule_id] = len(out)
        out.append((schedule_id, shift))
    return out


def on_call_now(rows: list[ShiftRow], now: datetime) -> ShiftRow | None:
    """The running shift that lasts longest (None: not on call now)."""
    running = [row for row in rows if row.start <= now < row.end]
    return max(running, key=lambda row: row.end, default=None)


def my_open_incidents(*, engineer: Engineer) -> list[Incident]:
    return list(
        Incident.objects.filter(assigned_to=engineer, status__in=Incident.OPEN_STATUSES)
        .select_related("service", "acknowledged_by")
        .order_by("-created_at")[:50]
    )


def my_incident(*, engineer: Engineer, incident_id: int) -> Incident | None:
    """One incident assigned to the engineer (open or not), else None."""
    return (
        Incident.objects.filter(pk=incident_id, assigned_to=engineer)
        .select_related("service")
        .first()
    )


def my_feed_active(*, engineer: Engineer) -> bool:
    return FeedToken.objects.filter(
        kind=FeedToken.Kind.ENGINEER, engineer=engineer, revoked_at=None
    ).exists()
