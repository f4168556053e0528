"""Escalation-step targets that page people: an engineer, whoever is on call in a
schedule, everyone in a team, or one team member at a time. Registered by paging
(``PagingConfig.ready``) like the channels register theirs (``oncall.channel_registry``);
the engine resolves each to engineer ids, each paged by their own notification rules.

``ctx`` is the engine's ``paging.escalation.AdvanceContext`` (per-batch caches).
"""

from __future__ import annotations

import logging
from typing import Any

from oncall.channel_registry import TargetKind

logger = logging.getLogger("paging.escalation")

ENGINEER = "engineer"
SCHEDULE = "schedule"
TEAM_ALL = "team_all"
TEAM_ROUND_ROBIN = "team_round_robin"


def _engineer(target: Any, ctx: Any) -> tuple[list[int], list[str]]:
    return ([target.engineer_id] if target.engineer_id else []), []


def _schedule(target: Any, ctx: Any) -> tuple[list[int], list[str]]:
    assert target.schedule_id is not None
    try:
        found = ctx.schedule_oncall(target.schedule_id)
    except Exception:  # a broken schedule must not stop the escalation
        logger.exception("schedule %s could not be resolved", target.schedule_id)
        return [], [f"schedule {target.schedule_id} could not be resolved"]
    return found, [] if found else [f"nobody on call in schedule {target.schedule_id}"]


def _team_all(target: Any, ctx: Any) -> tuple[list[int], list[str]]:
    assert target.team_id is not None
    return ctx.members(target.team_id), []


def _team_round_robin(target: Any, ctx: Any) -> tuple[list[int], list[str]]:
    assert target.team_id is not None
    members = ctx.members(target.team_id)
    return ([ctx.round_robin_next(target, members)] if members else []), []


PEOPLE_TARGETS = (
    TargetKind(name=ENGINEER, label="Engineer", reference="engineer", resolve=_engineer),
    TargetKind(
        name=SCHEDULE, label="Schedule's current on-call", reference="schedule", resolve=_schedule
    ),
    TargetKind(name=TEAM_ALL, label="All members of a team", reference="team", resolve=_team_all),
    TargetKind(
        name=TEAM_ROUND_ROBIN,
        label="Round-robin through a team",
        reference="team",
        resolve=_team_round_robin,
    ),
)
