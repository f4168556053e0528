"""What /me/swaps/ shows: swaps asked of me, asked by me, decided; the shifts I can offer
and the teammates who may take them. Times in my zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from oncall.me.selectors import my_shifts
from oncall.people.models import Engineer
from oncall.timefmt import local_text
from schedules.models import Schedule, SwapRequest


@dataclass(frozen=True)
class SwapRow:
    swap: SwapRequest
    span: str  # in the viewer's zone
    incoming: bool


def swap_rows(engineer: Engineer, swaps: list[SwapRequest]) -> list[SwapRow]:
    tz = engineer.time_zone
    return [
        SwapRow(
            swap=swap,
            span=f"{local_text(swap.start, tz)} → {local_text(swap.end, tz)}",
            incoming=swap.teammate_id == engineer.pk,
        )
        for swap in swaps
    ]


def my_swaps(*, engineer: Engineer) -> dict[str, list[SwapRow]]:
    swaps = list(
        SwapRequest.objects.filter(Q(requester=engineer) | Q(teammate=engineer))
        .select_related("schedule", "requester", "teammate")
        .order_by("start")[:200]
    )
    pending = [s for s in swaps if s.status == SwapRequest.Status.PENDING]
    decided = sorted(
        (s for s in swaps if s.status != SwapRequest.Status.PENDING),
        key=lambda s: s.decided_at or s.created_at,
        reverse=True,
    )[:20]
    return {
        "asked_of_me": swap_rows(engineer, [s for s in pending if s.teammate_id == engineer.pk]),
        "asked_by_me": swap_rows(engineer, [s for s in pending if s.requester_id == engineer.pk]),
        "decided": swap_rows(engineer, decided),
    }


def offerable_shifts(*, engineer: Engineer, now: datetime) -> list[tuple[str, str]]:
    """(key, label) of my shifts that have not started yet: what a swap may hand over."""
    return [
        (row.key, f"{row.start_text} → {row.end_text} · {row.schedule}")
        for row in my_shifts(engineer=engineer, now=now)
        if row.start > now
    ]


def teammates(*, engineer: Engineer) -> list[Engineer]:
    """Members of the teams of my schedules, me excepted (the service checks the team
    of the chosen schedule)."""
    team_ids = Schedule.objects.filter(team__memberships__engineer=engineer).values("team_id")
    return list(
        Engineer.objects.filter(memberships__team_id__in=team_ids)
        .exclude(pk=engineer.pk)
        .distinct()
        .order_by("display_name")
    )
