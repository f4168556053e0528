"""Notices about an incident, and the policy's unresolved steps that send them.

A **notice** tells someone about an incident without paging them: no ack loop, no
escalation, and an acknowledgement does not cancel it (the outbox row belongs to no
incident, so the dispatcher's "only while triggered" check does not apply). A person
gets it through the start of their **low-urgency** ladder (their low-urgency
notification rules with the smallest delay, sent now; no rule: their first pageable
contact method); a Slack channel gets a plain post. ``notice_send`` is the one way to
send one; its key makes it idempotent per (incident, purpose, recipient, contact method).

**Unresolved steps** ("not resolved 60 minutes after the trigger: notify the manager",
``UnresolvedStep``, part of the policy's version) are run by the ``unresolved_notices``
tick step: incidents whose ``unresolved_due_at`` has come are claimed with
``select_for_update(skip_locked=True)`` (two workers never run the same incident), every
step now due is sent (if the incident's priority and urgency match), and the next due
time is written in the same transaction. A resolve clears the due time, so the rest
never run (``incident_resolve``), and cancels their notices still pending.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from oncall.channel_registry import channel_spec
from oncall.people.models import Engineer, TeamMembership
from paging.ingest_sql import quoted
from paging.kick import kick_engine
from paging.models import Incident, IncidentEvent, Message
from paging.notify import RulesCache, incident_url, page_subject
from paging.outbox import message_enqueue_created
from paging.policy_versions import unresolved_due
from paging.priorities import priority_label
from paging.timeline import event_record
from schedules import selectors as schedule_selectors

logger = logging.getLogger(__name__)

# The channel a Slack channel notice is posted through (the Slack folder registers it).
SLACK_CHANNEL_KIND = "slack_channel"
# Notices sent by unresolved steps: ``notice:<incident>:unresolved:<minutes>:…``.
UNRESOLVED_PURPOSE = "unresolved"
BATCH_SIZE = 100


@dataclass(frozen=True)
class SlackChannel:
    """A Slack channel to post a notice to (its id, as an escalation target names it)."""

    channel: str


@dataclass
class NoticeResult:
    """What ``notice_send`` queued: the rows (new or seen before) and, for the timeline,
    whom it reached ("Alice (sms +49…)", "Slack channel C0LEADS") or why nobody."""

    messages: list[Message] = field(default_factory=list)
    created: int = 0
    reached: str = ""
    problem: str = ""


def notice_key(incident_id: int, purpose: str, recipient: str) -> str:
    """``notice:<incident>:<purpose>:<recipient>``: a prefix per incident and purpose, so
    a resolve can cancel pending notices of one purpose."""
    return f"notice:{incident_id}:{purpose}:{recipient}"[:255]


def notice_send(
    incident: Incident,
    to: Engineer | int | SlackChannel,
    text: str,
    *,
    purpose: str,
    subject: str = "",
    cache: RulesCache | None = None,
) -> NoticeResult:
    """Queue a notice about ``incident`` to a person (the start of their low-urgency
    ladder, now) or a Slack channel. Call inside a transaction; the outbox sends it.

    ``purpose`` names the notice ("unresolved:60", "status-update:12"): the same
    incident, purpose and recipient is queued once, whoever calls again. ``subject``
    (e-mail, push) defaults to the page's subject.
    """
    subject = (subject or page_subject(incident))[:255]
    if isinstance(to, SlackChannel):
        if channel_spec(SLACK_CHANNEL_KIND) is None:
            return NoticeResult(problem=f"Slack channel {to.channel}: no Slack channel installed")
        message, created = message_enqueue_created(
            idempotency_key=notice_key(incident.pk, purpose, f"slack:{to.channel}"),
            purpose=Message.Purpose.NOTICE,
            kind=SLACK_CHANNEL_KIND,
            destination=to.channel[:254],
            subject=subject,
            body=text,
        )
        if created:
            kick_engine()
        return NoticeResult([message], int(created), reached=f"Slack channel {to.channel}")
    engineer_id = to if isinstance(to, int) else to.pk
    cache = cache or RulesCache()
    rungs = cache.ladder(engineer_id, "low")
    name = cache.name(engineer_id)
    if engineer_id not in cache.names:
        return NoticeResult(problem=f"engineer {engineer_id} no longer exists")
    if not rungs:
        return NoticeResult(problem=f"{name} has no pageable contact method")
    # The ladder's start: every rule at its first delay, sent now (a notice does not
    # climb the ladder; nobody acknowledges it).
    start = [r for r in rungs if r.delay_minutes == rungs[0].delay_minutes]
    result = NoticeResult()
    for rung in start:
        recipient = f"{engineer_id}:{rung.contact_method_id}:{rung.rule_id or 0}"
        message, created = message_enqueue_created(
            idempotency_key=notice_key(incident.pk, purpose, recipient),
            purpose=Message.Purpose.NOTICE,
            kind=rung.kind,
            destination=rung.destination[:254],
            subject=subject,
            body=text,
            engineer_id=engineer_id,
            contact_method_id=rung.contact_method_id,
        )
        result.messages.append(message)
        result.created += int(created)
    if result.created:
        kick_engine()
    methods = ", ".join(f"{r.kind} {r.destination}" for r in start)
    result.reached = f"{name} ({methods})"
    return result


def notices_pending_cancel(*, incident_id: int, purpose: str, reason: str) -> int:
    """Cancel the incident's notices of ``purpose`` not sent yet; returns how many."""
    return Message.objects.filter(
        idempotency_key__startswith=notice_key(incident_id, purpose, ""),
        status=Message.Status.PENDING,
    ).update(status=Message.Status.CANCELLED, last_error=reason)


# --- unresolved steps -------------------------------------------------------------


def unresolved_text(incident: Incident, service_name: str, minutes: int) -> str:
    state = incident.status
    if incident.status == Incident.Status.ACKNOWLEDGED and incident.acknowledged_by is not None:
        state = f"acknowledged by {incident.acknowledged_by}"
    return (
        f"Still unresolved after {minutes} min: {service_name}: {incident.title} "
        f"(incident #{incident.pk}, {state}). {incident_url(incident.pk)}"
    )


def _step_applies(step: dict[str, Any], incident: Incident) -> str:
    """Why the step does not apply to this incident ("" = it does)."""
    wanted = step.get("priorities") or []
    if wanted and incident.priority not in wanted:
        levels = ", ".join(f"P{p}" for p in wanted)
        have = priority_label(incident.priority) if incident.priority else "not graded"
        return f"for {levels} only ({have})"
    if step.get("urgency") and step["urgency"] != incident.urgency:
        return f"for {step['urgency']} urgency only"
    return ""


def _step_recipients(step: dict[str, Any], now: datetime) -> tuple[list[int], list[str]]:
    """The engineers a step's target names now, and notes (nobody on call…)."""
    kind = step["kind"]
    if kind == "engineer":
        return ([step["engineer"]] if step["engineer"] else []), []
    if kind == "schedule":
        try:
            found = schedule_selectors.oncall_engineer_ids(schedule_id=step["schedule"], at=now)
        except Exception:  # a broken schedule must not stop the other notices
            logger.exception("schedule %s could not be resolved", step["schedule"])
            return [], [f"schedule {step['schedule']} could not be resolved"]
        return found, [] if found else [f"nobody on call in schedule {step['schedule']}"]
    if kind == "team_all":
        members = list(
            TeamMembership.objects.filter(team_id=step["team"])
            .order_by("engineer__display_name", "engineer_id")
            .values_list("engineer_id", flat=True)
        )
        return members, [] if members else [f"team {step['team']} has no members"]
    return [], []


def _reached(result: NoticeResult) -> str:
    # A step run again (a version moved to open incidents) finds its notices queued.
    if result.reached and not result.created:
        return f"{result.reached} (already notified)"
    return result.reached


def unresolved_step_run(
    incident: Incident, step: dict[str, Any], now: datetime, cache: RulesCache
) -> None:
    """Send one unresolved step's notices and say so on the timeline."""
    minutes = step["after_minutes"]
    skipped = _step_applies(step, incident)
    if skipped:
        return  # not for this incident: no notice and no line (most incidents are not P1)
    purpose = f"{UNRESOLVED_PURPOSE}:{minutes}"
    text = unresolved_text(incident, incident.service.name, minutes)
    reached: list[str] = []
    notes: list[str] = []
    engineer_ids: list[int] = []
    if step["kind"] == SLACK_CHANNEL_KIND:
        result = notice_send(incident, SlackChannel(step["address"]), text, purpose=purpose)
        (reached if result.reached else notes).append(_reached(result) or result.problem)
    else:
        found, notes = _step_recipients(step, now)
        cache.load(found, "low")
        for engineer_id in found:
            result = notice_send(incident, engineer_id, text, purpose=purpose, cache=cache)
            if result.reached:
                reached.append(_reached(result))
                engineer_ids.append(engineer_id)
            else:
                notes.append(result.problem)
    line = f"not resolved after {minutes} min: " + (
        f"notified {', '.join(reached)}" if reached else "nobody to notify"
    )
    if notes:
        line += " (" + "; ".join(notes) + ")"
    event_record(
        incident_id=incident.pk,
        kind=IncidentEvent.Kind.UNRESOLVED_NOTICE,
        at=now,
        text=line,
        data={
            "after_minutes": minutes,
            "engineer_ids": engineer_ids,
            "channel": step["address"] if step["kind"] == SLACK_CHANNEL_KIND else "",
        },
    )


def _due_sql() -> str:
    table = quoted(Incident._meta.db_table)
    return (
        f"SELECT 1 FROM {table} WHERE unresolved_due_at <= %s"  # noqa: S608 - names from model meta
        " ORDER BY unresolved_due_at LIMIT 1"
    )


def unresolved_notices_batch(*, limit: int = BATCH_SIZE) -> int:
    """Claim up to ``limit`` incidents with an unresolved step due and run those steps,
    in one transaction; returns how many incidents were claimed."""
    with transaction.atomic():
        now = timezone.now()
        incidents = list(
            Incident.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("service", "escalation_version", "acknowledged_by")
            .filter(unresolved_due_at__lte=now)
            .order_by("unresolved_due_at", "id")[:limit]
        )
        cache = RulesCache()
        for incident in incidents:
            version = incident.escalation_version
            index = incident.unresolved_step
            if incident.is_open and version is not None and incident.escalation_started_at:
                steps = version.unresolved
                while index < len(steps):
                    due = unresolved_due(steps, incident.escalation_started_at, index)
                    if due is None or due > now:
                        break
                    unresolved_step_run(incident, steps[index], now, cache)
                    index += 1
                next_due = unresolved_due(steps, incident.escalation_started_at, index)
            else:
                next_due = None  # resolved, or lost its version: nothing more to send
            Incident.objects.filter(pk=incident.pk).update(
                unresolved_step=index, unresolved_due_at=next_due
            )
    return len(incidents)


def unresolved_notices_send(*, limit: int = BATCH_SIZE, max_batches: int = 100) -> int:
    """The tick step: run every unresolved step that is due. First one indexed question
    outside any transaction, so an idle tick costs one statement."""
    with connection.cursor() as cursor:
        cursor.execute(_due_sql(), [timezone.now()])
        if cursor.fetchone() is None:
            return 0
    total = 0
    for _ in range(max_batches):
        done = unresolved_notices_batch(limit=limit)
        total += done
        if done < limit:
            break
    return total
