"""What /me/team/ shows a team admin: the teams they administer, each with its engineers,
their coming shifts and the swaps awaiting approval. Times in the admin's zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from oncall.me.selectors import ShiftRow, my_shifts
from oncall.me.swap_selectors import SwapRow, swap_rows
from oncall.people.models import Engineer, Team, TeamMembership
from oncall.people.selectors import admin_team_ids
from oncall.timefmt import local_text
from schedules.models import SwapRequest, TimeOff


@dataclass(frozen=True)
class MemberShifts:
    engineer: Engineer
    role: str
    shifts: list[ShiftRow]


@dataclass(frozen=True)
class TimeOffAwaiting:
    time_off: TimeOff
    span: str  # in the admin's zone


@dataclass(frozen=True)
class TeamView:
    team: Team
    members: list[MemberShifts]
    awaiting: list[SwapRow]
    time_off: list[TimeOffAwaiting]


def my_teams(*, engineer: Engineer, now: datetime) -> list[TeamView]:
    views = []
    for team in Team.objects.filter(pk__in=list(admin_team_ids(user_id=engineer.user_id))):
        memberships = (
            TeamMembership.objects.filter(team=team)
            .select_related("engineer")
            .order_by("engineer__display_name")
        )
        members = [
            MemberShifts(
                engineer=m.engineer,
                role=m.get_role_display(),
                shifts=my_shifts(engineer=m.engineer, now=now, zone=engineer.time_zone)[:5],
            )
            for m in memberships
        ]
        awaiting = list(
            SwapRequest.objects.filter(schedule__team=team, status=SwapRequest.Status.AWAITING)
            .select_related("schedule", "requester", "teammate")
            .order_by("start")
        )
        time_off = (
            TimeOff.objects.filter(
                status=TimeOff.Status.AWAITING,
                engineer__layers__schedule__team=team,
                engineer__layers__schedule__time_off_needs_approval=True,
                engineer__layers__deleted_at=None,
            )
            .select_related("engineer")
            .distinct()
            .order_by("start")
        )
        tz = engineer.time_zone
        views.append(
            TeamView(
                team=team,
                members=members,
                awaiting=swap_rows(engineer, awaiting),
                time_off=[
                    TimeOffAwaiting(
                        time_off=t,
                        span=f"{local_text(t.start, tz)} → {local_text(t.end, tz)}",
                    )
                    for t in time_off
                ],
            )
        )
    return views


def awaiting_approval(*, engineer: Engineer) -> int | None:
    """How many swaps await this team admin's approval; None for a non-admin."""
    team_ids = list(admin_team_ids(user_id=engineer.user_id))
    if not team_ids:
        return None
    return SwapRequest.objects.filter(
        schedule__team_id__in=team_ids, status=SwapRequest.Status.AWAITING
    ).count()
