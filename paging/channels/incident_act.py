"""Acting on an incident from a channel (an SMS reply, a keypress, a signed link, a
button) and the one sentence that answers the person who acted.

Incident actions go through ``paging.incident_actions`` (idempotent: a second ack
changes nothing and reports who acknowledged first).
"""

from __future__ import annotations

from paging.incident_actions import (
    ActionResult,
    incident_acknowledge,
    incident_escalate_now,
    incident_resolve,
)
from paging.models import Incident

ACTIONS = {
    "acknowledge": incident_acknowledge,
    "resolve": incident_resolve,
    "escalate": incident_escalate_now,
}


def incident_act(
    *, action: str, incident_id: int, engineer_id: int | None, via: str
) -> ActionResult:
    """Run ``action`` (acknowledge, resolve, escalate) on the incident."""
    return ACTIONS[action](incident_id=incident_id, engineer_id=engineer_id, via=via)


def action_outcome_text(action: str, result: ActionResult) -> str:
    """One sentence for the person who acted: what happened, or who was first."""
    incident = result.incident
    name = f"#{incident.pk} {incident.title[:60]}"
    if result.changed:
        done = {
            "acknowledge": "Acknowledged",
            "resolve": "Resolved",
            "escalate": "Escalated",
        }[action]
        return f"{done} {name}."
    if incident.status == Incident.Status.RESOLVED:
        who = incident.resolved_by.display_name if incident.resolved_by else "the alert source"
        return f"{name} was already resolved by {who}{_via(incident.resolved_via)}."
    who = incident.acknowledged_by.display_name if incident.acknowledged_by else "someone"
    when = incident.acknowledged_at.strftime("%H:%M UTC") if incident.acknowledged_at else ""
    return (
        f"{name} was already acknowledged by {who}"
        f"{' at ' + when if when else ''}{_via(incident.acknowledged_via)}."
    )


def _via(via: str) -> str:
    return f" (via {via})" if via else ""
