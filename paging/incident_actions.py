"""Incident actions: acknowledge, resolve, escalate now, reassign, note, set priority.

Each is one function and one transaction. Status changes are conditional updates on
the incident row, which is also the row the engine locks when it advances an
escalation, so an ack racing a step is ordered by that row lock: the step either
commits first (and the ack then cancels the pages it queued) or sees the ack.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Case, F, IntegerField, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from oncall.audit.services import audit_record, audit_snapshot_of
from paging.inhibition import inhibition_sources_end
from paging.kick import kick_engine
from paging.models import Alert, EscalationPolicy, Incident, IncidentEvent, Message
from paging.models.incidents import RESOLUTIONS
from paging.notices import UNRESOLVED_PURPOSE, notices_pending_cancel
from paging.notify import pages_plan
from paging.priorities import PriorityInvalid, level_of, priority_label, priority_levels
from paging.priority_policy import more_urgent, priority_policy_move
from paging.retrigger import RETRIGGER_FIELDS, incident_retrigger
from paging.timeline import event_record

OPEN = Incident.OPEN_STATUSES
# When a reassignment re-triggers an acknowledged incident, the policy resumes this late.
REASSIGN_GRACE = timedelta(minutes=15)


class IncidentActionError(Exception):
    """The action cannot apply to this incident (for example reassigning a resolved one)."""


@dataclass(frozen=True)
class ActionResult:
    incident: Incident
    # False when the action had already happened (second ack, resolve of a resolved one).
    changed: bool


def _pending_pages_cancel(*, incident_id: int, reason: str) -> int:
    return Message.objects.filter(incident_id=incident_id, status=Message.Status.PENDING).update(
        status=Message.Status.CANCELLED, last_error=reason
    )


def incident_acknowledge(
    *, incident_id: int, engineer_id: int | None = None, via: str = "api"
) -> ActionResult:
    """Acknowledge a triggered incident; a second ack changes nothing (see ``acknowledged_by``).

    The first ack ever (time and engineer) is set once, in the same conditional update:
    an ack after an ack timeout changes only ``acknowledged_*``.
    """
    with transaction.atomic():
        now = timezone.now()
        incident = Incident.objects.select_related("service").get(pk=incident_id)
        before = audit_snapshot_of(incident)
        timeout = incident.service.ack_timeout_minutes
        changed = Incident.objects.filter(pk=incident_id, status=Incident.Status.TRIGGERED).update(
            status=Incident.Status.ACKNOWLEDGED,
            acknowledged_at=now,
            first_acknowledged_at=Coalesce(F("first_acknowledged_at"), Value(now)),
            # SET reads the row as it was: this is the first ack iff that had no time yet.
            first_acknowledged_by_id=Case(
                When(first_acknowledged_at__isnull=True, then=Value(engineer_id)),
                default=F("first_acknowledged_by_id"),
                output_field=IntegerField(),
            ),
            acknowledged_by_id=engineer_id,
            acknowledged_via=via,
            next_due_at=now + timedelta(minutes=timeout) if timeout else None,
            updated_at=now,
        )
        if changed:
            # After the update above: a step that held the row has committed its pages.
            cancelled = _pending_pages_cancel(incident_id=incident_id, reason="acknowledged")
            event_record(
                incident_id=incident_id,
                kind=IncidentEvent.Kind.ACKNOWLEDGED,
                at=now,
                actor_id=engineer_id,
                via=via,
                text=f"{cancelled} pending notification(s) cancelled",
            )
            audit_record("acknowledge", incident, before=before, engineer_id=engineer_id, note=via)
        incident.refresh_from_db()
    return ActionResult(incident=incident, changed=bool(changed))


class ResolutionInvalid(ValueError):
    """Not one of ``RESOLUTIONS`` (callers answer 400 naming ``resolution``)."""


RESOLUTION_VALUES = tuple(value for value, _ in RESOLUTIONS)


def resolution_label(value: str | None) -> str:
    return dict(RESOLUTIONS).get(value, "") if value else ""


def incident_resolve(
    *,
    incident_id: int,
    engineer_id: int | None = None,
    via: str = "api",
    resolution: str | None = None,
) -> ActionResult:
    """Resolve an open incident and its firing alerts; idempotent.

    ``resolution`` (fixed, false_positive, duplicate, no_action_needed; optional) says
    why: given with the resolve it is set with it; given for an incident resolved
    without one, it is recorded then (never overwritten). The policy's unresolved steps
    not run yet never run (their due time is cleared, pending notices cancelled).
    """
    if resolution is not None and resolution not in RESOLUTION_VALUES:
        raise ResolutionInvalid(f"must be one of {', '.join(RESOLUTION_VALUES)}")
    with transaction.atomic():
        now = timezone.now()
        before = audit_snapshot_of(Incident.objects.get(pk=incident_id))
        changed = Incident.objects.filter(pk=incident_id, status__in=OPEN).update(
            status=Incident.Status.RESOLVED,
            resolved_at=now,
            resolved_by_id=engineer_id,
            resolved_via=via,
            resolution=resolution,
            next_due_at=None,
            unresolved_due_at=None,
            updated_at=now,
        )
        if not changed and resolution is not None:
            # Resolved before without a reason: the reason may come later (analytics).
            classified = Incident.objects.filter(
                pk=incident_id, status=Incident.Status.RESOLVED, resolution__isnull=True
            ).update(resolution=resolution, updated_at=now)
            if classified:
                event_record(
                    incident_id=incident_id,
                    kind=IncidentEvent.Kind.NOTE,
                    at=now,
                    actor_id=engineer_id,
                    via=via,
                    text=f"resolution: {resolution_label(resolution)}",
                    data={"resolution": resolution},
                )
                incident = Incident.objects.get(pk=incident_id)
                audit_record("resolve", incident, before=before, engineer_id=engineer_id, note=via)
                return ActionResult(incident=incident, changed=True)
        if changed:
            cancelled = _pending_pages_cancel(incident_id=incident_id, reason="resolved")
            cancelled += notices_pending_cancel(
                incident_id=incident_id, purpose=UNRESOLVED_PURPOSE, reason="resolved"
            )
            Alert.objects.filter(incident_id=incident_id, status=Alert.Status.FIRING).update(
                status=Alert.Status.RESOLVED, resolved_at=now
            )
            # Its alerts no longer inhibit others: the targets they held page.
            inhibition_sources_end(incident_id=incident_id, now=now)
            event_record(
                incident_id=incident_id,
                kind=IncidentEvent.Kind.RESOLVED,
                at=now,
                actor_id=engineer_id,
                via=via,
                text="; ".join(
                    t
                    for t in (
                        f"resolution: {resolution_label(resolution)}" if resolution else "",
                        f"{cancelled} pending notification(s) cancelled" if cancelled else "",
                    )
                    if t
                ),
                data={"resolution": resolution} if resolution else {},
            )
        incident = Incident.objects.get(pk=incident_id)
        if changed:
            audit_record("resolve", incident, before=before, engineer_id=engineer_id, note=via)
    return ActionResult(incident=incident, changed=bool(changed))


def incident_escalate_now(
    *, incident_id: int, engineer_id: int | None = None, via: str = "api"
) -> ActionResult:
    """Run the next escalation step now (re-triggering an acknowledged incident)."""
    with transaction.atomic():
        now = timezone.now()
        incident = (
            Incident.objects.select_for_update(of=("self",))
            .select_related("escalation_policy", "escalation_version")
            .get(pk=incident_id)
        )
        if not incident.is_open:
            return ActionResult(incident=incident, changed=False)
        before = audit_snapshot_of(incident)
        if incident.escalation_version is not None:
            steps = len(incident.escalation_version.steps)
        else:  # not started yet: it will take the policy's current steps
            policy = incident.escalation_policy
            steps = policy.steps.count() if policy is not None else 0
        # Past the last step (policy exhausted): a fresh pass.
        restart = incident.escalation_step >= steps
        line = incident_retrigger(
            incident,
            now=now,
            restart=restart,
            due_at=now,
            by_person=True,
            kind=IncidentEvent.Kind.ESCALATED,
            # The step the engine runs next, once this commits.
            text=f"escalated to step {(0 if restart else incident.escalation_step) + 1}",
            actor_id=engineer_id,
            via=via,
        )
        _retriggered_save(incident, line)
        audit_record("escalate", incident, before=before, engineer_id=engineer_id, note=via)
        kick_engine()
    return ActionResult(incident=incident, changed=True)


def _retriggered_save(incident: Incident, line: IncidentEvent, *extra_fields: str) -> None:
    """Write what ``incident_retrigger`` changed (and ``extra_fields``) and its timeline line."""
    incident.save(update_fields=[*RETRIGGER_FIELDS, *extra_fields])
    line.save()


def _policy_start(incident: Incident, policy: EscalationPolicy, now: datetime) -> None:
    """Make ``incident`` follow ``policy`` from its first step, now (in memory).

    The engine binds the policy's current version when it runs step 1; the new loop
    number keeps the new pages' idempotency keys apart from the old policy's.
    """
    incident.escalation_policy = policy
    incident.escalation_version = None
    incident.escalation_step = 0
    incident.escalation_loop += 1
    incident.escalation_repeat = 0
    incident.next_due_at = now


def incident_reassign(
    *,
    incident_id: int,
    engineer_ids: list[int] | None = None,
    policy_id: int | None = None,
    by_engineer_id: int | None = None,
    via: str = "api",
) -> ActionResult:
    """Hand the incident to other engineers (paged now) or to another escalation policy.

    Either way the incident is triggered again (``incident_retrigger``) and pending pages
    to the previous responders are cancelled. With engineers, the current policy keeps
    running as scheduled if they do not acknowledge (an acknowledged incident, or one
    whose policy had ended, resumes ``REASSIGN_GRACE`` later); with a policy, it starts
    at its first step.
    """
    if bool(engineer_ids) == bool(policy_id):
        raise IncidentActionError("give either engineer_ids or policy_id")
    with transaction.atomic():
        now = timezone.now()
        incident = (
            Incident.objects.select_for_update(of=("self",))
            .select_related("service")
            .get(pk=incident_id)
        )
        if not incident.is_open:
            raise IncidentActionError("the incident is resolved")
        before = audit_snapshot_of(incident)
        _pending_pages_cancel(incident_id=incident_id, reason="reassigned")
        extra_fields: tuple[str, ...] = ()
        if policy_id:
            policy = EscalationPolicy.objects.get(pk=policy_id)
            incident.escalation_policy = policy
            # The engine binds the new policy's current version when it runs step 1.
            incident.escalation_version = None
            extra_fields = ("escalation_policy", "escalation_version")
            due_at: datetime | None = now
        elif incident.status == Incident.Status.ACKNOWLEDGED or incident.next_due_at is None:
            due_at = now + REASSIGN_GRACE
        else:
            due_at = incident.next_due_at
        line = incident_retrigger(
            incident,
            now=now,
            restart=bool(policy_id),
            due_at=due_at,
            by_person=True,
            kind=IncidentEvent.Kind.REASSIGNED,
            text="",
            actor_id=by_engineer_id,
            via=via,
        )
        if policy_id:
            text = f"reassigned to escalation policy {policy.name}"
        else:
            assert engineer_ids is not None
            # Paged after the retrigger: the pages are keyed by its new loop.
            plan = pages_plan(
                incidents_engineers=[(incident, list(engineer_ids))],
                step_label="reassign",
                now=now,
            )
            plan.save()
            incident.assigned_to.set(engineer_ids)
            text = f"reassigned to {', '.join(plan.names_for(engineer_ids))}"
        line.text = text + line.text  # the names are known once the pages are planned
        _retriggered_save(incident, line, *extra_fields)
        audit_record("reassign", incident, before=before, engineer_id=by_engineer_id, note=text)
        kick_engine()
    return ActionResult(incident=incident, changed=True)


def incident_add_note(
    *, incident_id: int, text: str, engineer_id: int | None = None, via: str = "api"
) -> IncidentEvent:
    with transaction.atomic():
        incident = Incident.objects.get(pk=incident_id)
        event = event_record(
            incident_id=incident_id,
            kind=IncidentEvent.Kind.NOTE,
            actor_id=engineer_id,
            via=via,
            text=text,
        )
        audit_record("note", incident, changes={}, engineer_id=engineer_id, note=text)
        return event


@dataclass(frozen=True)
class PriorityResult:
    incident: Incident
    # False when the incident already had that priority.
    changed: bool
    # The policy the incident moved to with its new priority (None: it kept its own).
    moved_to: EscalationPolicy | None = None


def incident_set_priority(
    *, incident_id: int, priority: int | None, engineer_id: int | None = None, via: str = "api"
) -> PriorityResult:
    """Grade the incident P1..P5 (``priority`` 1..5), or clear its grade (None).

    The one write path of a priority set by a person (API, admin, Slack); alerts set it
    when they open the incident (``paging.ingest``). ``priority`` must be a level in
    use (``paging.priorities.priority_parse`` reads what people type), else
    PriorityInvalid. Works on resolved incidents too (grading after the fact counts in
    the SLA figures). A triggered incident still on the policy its old priority chose
    moves to the new priority's policy (``priority_policy_move``): its pending pages are
    cancelled and the new policy starts at step 1 — now for a more urgent priority; for
    a less urgent one (or none) when the old policy's next step was due. While nothing
    has paged yet (a maintenance window holds it) it starts when it would have started.
    """
    with transaction.atomic():
        now = timezone.now()
        levels = priority_levels()
        if priority is not None and level_of(priority, levels) is None:
            raise PriorityInvalid(f"P{priority} is not a priority in use here")
        incident = (
            Incident.objects.select_for_update(of=("self",))
            .select_related("service", "escalation_policy")
            .get(pk=incident_id)
        )
        if incident.priority == priority:
            return PriorityResult(incident=incident, changed=False)
        before = audit_snapshot_of(incident)
        text = f"priority {priority_label(incident.priority, levels)} -> "
        text += priority_label(priority, levels)
        move_to = priority_policy_move(incident=incident, priority=priority)
        policy = EscalationPolicy.objects.get(pk=move_to) if move_to is not None else None
        if policy is not None:
            was = f"'{incident.escalation_policy.name}'" if incident.escalation_policy else "none"
            if incident.escalation_started_at is None:
                # Nothing paged yet (held by a maintenance window, or not started): it
                # starts with the new policy when it would have started.
                incident.escalation_policy = policy
                incident.escalation_version = None
                text += f"; escalation policy {was} -> '{policy.name}'"
            else:
                _pending_pages_cancel(incident_id=incident_id, reason="priority changed")
                due = incident.next_due_at
                _policy_start(incident, policy, now)
                if not more_urgent(priority, than=incident.priority):
                    # Less urgent: nobody is paged again sooner than the old policy's
                    # next step would have paged (never, if it was exhausted).
                    incident.next_due_at = due
                    when = "when its next step was due"
                else:
                    when = "now"
                text += f"; escalation policy {was} -> '{policy.name}', from step 1 {when}"
        incident.priority = priority
        incident.updated_at = now
        incident.save()
        event_record(
            incident_id=incident_id,
            kind=IncidentEvent.Kind.PRIORITY,
            at=now,
            actor_id=engineer_id,
            via=via,
            text=text,
            data={"priority": priority, "policy": move_to},
        )
        audit_record("priority", incident, before=before, engineer_id=engineer_id, note=text)
        if policy is not None:
            kick_engine()
    return PriorityResult(incident=incident, changed=True, moved_to=policy)
