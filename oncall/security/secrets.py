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


def secrets_visible(user: Any, *, team_id: int | None) -> bool:
    """May ``user`` read the full secrets of an object of team ``team_id``?"""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff:
        return True
    if team_id is None:
        return False
    from oncall.models import TeamMembership

    return TeamMembership.objects.filter(
        team_id=team_id, engineer__user=user, role=TeamMembership.Role.ADMIN
    ).exists()
