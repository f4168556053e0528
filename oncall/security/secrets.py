"""Who may see a secret (routing keys, integration and feed tokens), and its masked form.

Staff see every secret; a team admin sees the secrets of their team's objects; everyone
else sees ``…`` and the last 4 characters, as the timeline shows them.
"""

from __future__ import annotations

from typing import Any

VISIBLE_TAIL = 4


def secret_mask(value: str) -> str:
    if not value:
        return value
    if len(value) <= VISIBLE_TAIL:
        return "…"
    return f"…{value[-VISIBLE_TAIL:]}"


def secrets_visible(user: Any, *, team_id: int | None, cache: Any = None) -> bool:
    """May ``user`` read the full secrets of an object of team ``team_id``? ``cache``
    (e.g. the request) keeps the user's admin teams for the next call."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff:
        return True
    if team_id is None:
        return False
    teams = getattr(cache, "_oncall_admin_team_ids", None)
    if teams is None:
        from oncall.people.models import TeamMembership

        teams = set(
            TeamMembership.objects.filter(
                engineer__user=user, role=TeamMembership.Role.ADMIN
            ).values_list("team_id", flat=True)
        )
        if cache is not None:
            cache._oncall_admin_team_ids = teams
    return team_id in teams
