"""What a signed link does when its form is posted: the action, as the engineer it was
sent to."""

from __future__ import annotations

from oncall.people.models import Engineer
from paging.channels.incident_act import incident_act
from paging.incident_actions import ActionResult


class LinkEngineerGone(Exception):
    """The engineer the link was sent to no longer exists."""


def link_action_perform(*, incident_id: int, engineer_id: int, action: str) -> ActionResult:
    if not Engineer.objects.filter(pk=engineer_id).exists():
        raise LinkEngineerGone("the engineer this link was sent to no longer exists")
    return incident_act(action=action, incident_id=incident_id, engineer_id=engineer_id, via="link")
