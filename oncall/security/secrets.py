"""The masked form of a secret (routing keys, integration and feed tokens): ``…`` and the
last 4 characters, as the timeline shows them. Who may see one in full (staff, and a
team admin for their team's objects): ``oncall.people.selectors.secrets_visible``.
"""

from __future__ import annotations

VISIBLE_TAIL = 4


def secret_mask(value: str) -> str:
    if not value:
        return value
    if len(value) <= VISIBLE_TAIL:
        return "…"
    return f"…{value[-VISIBLE_TAIL:]}"
