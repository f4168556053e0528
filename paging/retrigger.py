"""Back to triggered: the one state change behind the ack timeout, "escalate now" and a
reassignment.

Whichever path puts an open incident back to triggered, ``incident_retrigger`` sets the
same fields the same way:

- ``status`` is triggered. The acknowledgement no longer holds: ``acknowledged_at``,
  ``acknowledged_by`` and ``acknowledged_via`` are cleared (so the API, the incident page
  and Slack never name an acknowledger of a triggered incident); ``first_acknowledged_at``
  and ``first_acknowledged_by`` are kept (MTTA and the review measure the first ack).
- A new ``escalation_loop``: the pages sent from here on get fresh idempotency keys, so
  they are never taken for pages sent before.
- Where the policy resumes: ``restart`` runs it again from its first step (new pass,
  ``escalation_repeat`` 0: the ack timeout, a reassignment to a policy, "escalate now" on
  a policy that ran to its end); otherwise it continues with the step it was going to run
  next ("escalate now", a reassignment to engineers).
- ``next_due_at`` is ``due_at``.
- An action by a person (``by_person``) starts an escalation a maintenance window was
  holding (``escalation_started_at`` = now) and lifts a suppression (an alert rule's or an
  inhibition's ``suppressed_by``); the ack timeout leaves both in charge.
- One timeline line, of the caller's kind and text; when an acknowledgement was cleared
  the text ends with "(was acknowledged)".

What stays with the caller: saving (``RETRIGGER_FIELDS``; the engine saves a whole batch
at once), the pages (a reassignment cancels the previous responders' pending pages and
pages the new ones; an acknowledged incident has none pending) and the audit trail (a
person's "escalate" and "reassign" are audited; the engine's ack timeout is a system
transition, on the timeline only, like every escalation step). Callers hold the
incident's row lock.
"""

from __future__ import annotations

from datetime import datetime

from paging.models import Incident, IncidentEvent
from paging.timeline import event_build

RETRIGGER_FIELDS = [
    "status",
    "acknowledged_at",
    "acknowledged_by",
    "acknowledged_via",
    "escalation_step",
    "escalation_loop",
    "escalation_repeat",
    "escalation_started_at",
    "suppressed_by",
    "next_due_at",
    "updated_at",
]
WAS_ACKNOWLEDGED = " (was acknowledged)"


def incident_retrigger(
    incident: Incident,
    *,
    now: datetime,
    restart: bool,
    due_at: datetime | None,
    by_person: bool,
    kind: str,
    text: str,
    actor_id: int | None = None,
    via: str = "",
) -> IncidentEvent:
    """Put an open incident back to triggered, in memory; return its (unsaved) timeline line.

    The caller saves ``RETRIGGER_FIELDS`` (and the event) in its transaction.
    """
    was_acknowledged = incident.status == Incident.Status.ACKNOWLEDGED
    incident.status = Incident.Status.TRIGGERED
    incident.acknowledged_at = None
    incident.acknowledged_by_id = None
    incident.acknowledged_via = ""
    incident.escalation_loop += 1
    if restart:
        incident.escalation_step = 0
        incident.escalation_repeat = 0
    if by_person:
        if incident.escalation_started_at is None:
            incident.escalation_started_at = now
        incident.suppressed_by = ""
    incident.next_due_at = due_at
    incident.updated_at = now
    return event_build(
        incident_id=incident.pk,
        kind=kind,
        at=now,
        actor_id=actor_id,
        via=via,
        text=text + (WAS_ACKNOWLEDGED if was_acknowledged else ""),
    )
