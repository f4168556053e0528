"""Escalation-step targets that are not people (a Slack channel, a PagerDuty service):
what they share.

The paging engine calls ``channel_targets_post`` inside its step transaction (the
incident row is locked); for each target it calls the ``post`` its channel registered
(``TargetKind.post``, ``oncall.channel_registry``), which writes one idempotent outbox
row belonging to the incident through ``target_message_enqueue``: the dispatcher sends
it only while the incident is still triggered, and an ack cancels it like any page. The
key holds incident, step, loop and target: a re-run of the same step in the same loop
is a no-op, a later loop posts again.
"""

from __future__ import annotations

from collections.abc import Iterable

from oncall.channel_registry import target_kind
from paging.models import EscalationTarget, Incident, IncidentEvent, Message
from paging.notify import page_subject
from paging.outbox import message_enqueue_created
from paging.timeline import event_record


def target_incident(incident_id: int) -> Incident:
    return Incident.objects.select_related("service").get(pk=incident_id)


def target_message_enqueue(
    *,
    incident: Incident,
    idempotency_key: str,
    kind: str,
    destination: str,
    body: str,
    step: int,
    loop: int,
    queued_text: str,
) -> Message:
    """Queue the page of ``incident`` to a channel target; the timeline says
    ``queued_text`` the first time (a re-run of the step in the same loop says nothing)."""
    message, created = message_enqueue_created(
        idempotency_key=idempotency_key[:255],
        purpose=Message.Purpose.PAGE,
        kind=kind,
        destination=destination,
        subject=page_subject(incident),
        body=body,
        incident_id=incident.pk,
        escalation_step=step,
        escalation_loop=loop,
    )
    if created:
        event_record(
            incident_id=incident.pk,
            kind=IncidentEvent.Kind.NOTIFICATION_QUEUED,
            message_id=message.pk,
            via=message.kind,
            text=queued_text,
        )
    return message


def channel_targets_post(
    *, incident_id: int, targets: Iterable[EscalationTarget], step: int, loop: int
) -> list[str]:
    """Queue a post for each channel target of a step (targets that page people, or
    with no address, are left out).

    Returns one note per target for the step's timeline line (empty: none of them).
    """
    notes: list[str] = []
    for target in targets:
        kind = target_kind(target.kind)
        if kind is None or kind.post is None or not target.address:
            continue
        kind.post(incident_id=incident_id, address=target.address, step=step, loop=loop)
        notes.append(kind.describe(target.address))
    return notes
