"""Who did it: the acting admin user's engineer, else the username (UI.md "Actions").

Incident actions record an engineer (``actor``, ``acknowledged_by``) and a channel
(``via``). A Django user without an engineer profile still acts: the channel then
carries the username (``admin:lena``) so the timeline names them.
"""

from __future__ import annotations

from dataclasses import dataclass

from oncall.people.selectors import engineer_for_user

ADMIN_VIA = "admin"
VIA_MAX = 32  # IncidentEvent.via / Incident.acknowledged_via max_length


@dataclass(frozen=True)
class Actor:
    engineer_id: int | None
    via: str
    name: str


def admin_actor(user: object) -> Actor:
    engineer = engineer_for_user(user)
    if engineer is not None:
        return Actor(engineer_id=engineer.pk, via=ADMIN_VIA, name=engineer.display_name)
    username = user.get_username()  # type: ignore[attr-defined]
    return Actor(engineer_id=None, via=f"{ADMIN_VIA}:{username}"[:VIA_MAX], name=username)


def via_channel(via: str) -> str:
    """The channel part of a ``via`` (``admin:lena`` -> ``admin``)."""
    return via.split(":", 1)[0]


def via_username(via: str) -> str:
    """The username an admin action without an engineer recorded, or ""."""
    channel, _, username = via.partition(":")
    return username if channel == ADMIN_VIA else ""


def actor_label(engineer_name: str | None, via: str) -> str:
    return engineer_name or via_username(via)
