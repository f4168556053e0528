"""The outbox: enqueue messages inside a transaction, dispatch due ones after."""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Required, TypedDict, Unpack

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from oncall.channel_registry import (
    THROTTLE_WINDOW_MINUTES,
    channel_spec,
    target_for_message_kind,
    throttle_defaults,
)
from oncall.people.models import ContactMethod
from paging.channels import Reconcilable, TransportError, channel_for
from paging.ingest_sql import rows_insert
from paging.models import Incident, IncidentEvent, Message
from paging.row_sql import row_update
from paging.timeline import event_build, event_record

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# Pages per contact method per window; the excess is bundled.
THROTTLE_WINDOW = timedelta(minutes=THROTTLE_WINDOW_MINUTES)


def throttle_limits() -> dict[str, int]:
    """Pages per contact method per window, by kind: each channel's own default
    (``ChannelSpec.throttle_limit``: SMS 5, calls 3), unless ``PAGING_THROTTLE_LIMITS``
    gives them all."""
    limits = settings.PAGING_THROTTLE_LIMITS
    return throttle_defaults() if limits is None else limits


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: 10 s, 20 s, 40 s … capped at 5 minutes."""
    return timedelta(seconds=min(10 * 2 ** max(attempts - 1, 0), 300))


class EnqueueFields(TypedDict, total=False):
    idempotency_key: Required[str]
    purpose: Required[str]
    kind: Required[str]
    destination: Required[str]
    body: Required[str]
    subject: str
    due_at: datetime | None
    engineer_id: int | None
    contact_method_id: int | None
    # A page's incident, step and loop are written with the row, so the dispatcher's
    # "only while triggered" check and an ack's cancel apply to it from the start.
    incident_id: int | None
    escalation_step: int | None
    escalation_loop: int | None


def message_enqueue(**fields: Unpack[EnqueueFields]) -> Message:
    """Record a message to send; a second call with the same key returns the first row."""
    message, _ = message_enqueue_created(**fields)
    return message


def message_enqueue_created(**fields: Unpack[EnqueueFields]) -> tuple[Message, bool]:
    """``message_enqueue``, also saying whether the row is new (False: key seen before)."""
    defaults: dict[str, object] = {"subject": "", **fields}
    key = defaults.pop("idempotency_key")
    defaults["due_at"] = defaults.get("due_at") or timezone.now()
    return Message.objects.get_or_create(idempotency_key=key, defaults=defaults)


@dataclass(frozen=True)
class SendOutcome:
    """What one provider call came to (for the caller's timeline and circuit breaker)."""

    ok: bool
    permanent: bool = False
    error: str = ""
    disable_reason: str = ""
    retry_after: float | None = None


def lease_until(now: datetime) -> datetime:
    """When a lease taken (or renewed) at ``now`` runs out."""
    return now + timedelta(seconds=settings.DISPATCH_LEASE_SECONDS)


def _held_lock(message: Message, token: str) -> bool:
    """Lock the row for the rest of the transaction (PostgreSQL) if ``token`` holds it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM paging_message WHERE id = %s AND claim_token = %s AND status = %s"
            " FOR UPDATE",
            [message.pk, token, Message.Status.SENDING.value],
        )
        return cursor.fetchone() is not None


def _attempt_begin(message: Message, token: str) -> bool:
    """Renew the lease and note (committed) that a provider call is about to start.

    False: the row is no longer ours (its lease ran out and another worker claimed it).
    """
    now = timezone.now()
    started = message.attempt_started_at or now
    changed = row_update(
        Message,
        # The fence: only while ``token`` still holds the row's lease.
        where={"id": message.pk, "claim_token": token, "status": Message.Status.SENDING},
        values={"lease_expires_at": lease_until(now), "attempt_started_at": started},
    )
    if changed != 1:
        logger.warning("message %s: lease lost before sending; left to its new holder", message.pk)
        return False
    return True


def _released(message: Message, **fields: object) -> int:
    """Write an outcome on a row we hold and give up the lease (fenced)."""
    where = {"id": message.pk, "claim_token": fields.pop("token")}
    return row_update(
        Message, where=where, values={"claim_token": "", "lease_expires_at": None, **fields}
    )


def _reconciled(message: Message, channel: object) -> str | None:
    """An earlier attempt's answer never came: ask the provider before sending again.

    Returns the provider id when the provider already has the message.
    """
    since = message.attempt_started_at
    assert since is not None
    if not isinstance(channel, Reconcilable):
        if message.incident_id is not None:
            event_record(
                incident_id=message.incident_id,
                kind=IncidentEvent.Kind.NOTIFICATION_QUEUED,
                actor_id=message.engineer_id,
                message_id=message.pk,
                via=message.kind,
                text=f"{message.kind} to {message.destination}: the attempt at "
                f"{since:%H:%M:%S} may have arrived ({getattr(channel, 'name', '?')} cannot "
                "be asked); sending again",
            )
        return None
    return channel.find_sent(message, since - RECONCILE_SKEW)


# Provider clocks differ from ours a little: look this much earlier than the attempt.
RECONCILE_SKEW = timedelta(seconds=5)


def _send_and_record(message: Message, token: str) -> SendOutcome:
    """Call the channel and write the result on the row, fenced by ``token``."""
    channel = channel_for(message.kind)
    attempts = message.attempts + 1
    # When an attempt began that may have reached the provider (None: nothing in doubt).
    # Kept on the row until a definite answer, so the next try asks the provider first.
    in_doubt = message.attempt_started_at
    try:
        if in_doubt is not None:
            found = _reconciled(message, channel)  # a failed lookup keeps the doubt
            if found is not None:
                _released(
                    message,
                    token=token,
                    status=Message.Status.SENT,
                    # The lost attempt: recorded already if it timed out, not if its
                    # worker died.
                    attempts=max(message.attempts, 1),
                    transport=channel.name,
                    provider_id=found,
                    sent_at=timezone.now(),
                    attempt_started_at=None,
                    last_error="",
                )
                logger.info("message %s: the provider already had it (%s)", message.pk, found)
                return SendOutcome(ok=True)
            in_doubt = None  # not there (or the provider cannot be asked: on the timeline)
        began = timezone.now()
        try:
            provider_id = channel.send(message)
        except TransportError as exc:
            if exc.maybe_sent:
                in_doubt = began
            raise
    except TransportError as exc:
        now = timezone.now()
        # A rate limit is the provider asking us to wait, not a failed try.
        rate_limited = message.rate_limited + (1 if exc.rate_limited else 0)
        permanent = exc.permanent or attempts - rate_limited >= MAX_ATTEMPTS
        if exc.rate_limited:
            # The provider said when (Retry-After): then, not after our backoff's 10 s
            # floor. Transports give their own default when the provider gave no header.
            delay = timedelta(seconds=exc.retry_after or 0)
        else:
            delay = retry_delay(attempts - rate_limited)
        _released(
            message,
            token=token,
            status=Message.Status.FAILED if permanent else Message.Status.PENDING,
            attempts=attempts,
            rate_limited=rate_limited,
            transport=channel.name,
            last_error=str(exc),
            due_at=now + delay,
            attempt_started_at=in_doubt,
        )
        logger.warning("message %s failed (permanent=%s): %s", message.pk, permanent, exc)
        return SendOutcome(
            ok=False,
            permanent=permanent,
            error=str(exc),
            disable_reason=exc.disable_reason if exc.permanent else "",
            retry_after=exc.retry_after,
        )
    _released(
        message,
        token=token,
        status=Message.Status.SENT,
        attempts=attempts,
        transport=channel.name,
        provider_id=provider_id,
        sent_at=timezone.now(),
        attempt_started_at=None,
        last_error="",
    )
    return SendOutcome(ok=True)


def _incident_lock_status(incident_id: int) -> str | None:
    # FOR NO KEY UPDATE: an ack (an UPDATE of the same row) waits until this send is
    # recorded, so no page can leave after an ack has committed.
    return (
        Incident.objects.select_for_update(no_key=True)
        .filter(pk=incident_id)
        .values_list("status", flat=True)
        .first()
    )


def _contact_method_failed(message: Message, error: str, disable_reason: str) -> None:
    """Note a permanent failure on the contact method; a bad address disables it."""
    if not message.contact_method_id:
        return
    now = timezone.now()
    ContactMethod.objects.filter(pk=message.contact_method_id).update(last_error=error)
    if disable_reason:
        ContactMethod.objects.filter(pk=message.contact_method_id, disabled_at__isnull=True).update(
            disabled_at=now, disabled_reason=disable_reason[:255]
        )


def _fallback(message: Message, error: str, disable_reason: str = "") -> None:
    """A permanent failure: note it on the contact method, bring the next rung forward.

    Only for pages to an engineer: a Slack channel or PagerDuty service post has no
    personal ladder (its failure is on the timeline, see ``_page_outcome_record``).
    """
    _contact_method_failed(message, error, disable_reason)
    if message.engineer_id is None:
        return
    _next_rung_bring_forward(message)


def _next_rung_bring_forward(message: Message, because: str = "") -> None:
    """Make the engineer's next pending page for this incident due now (or say none is left)."""
    now = timezone.now()
    assert message.incident_id is not None
    following = (
        Message.objects.filter(
            incident_id=message.incident_id,
            engineer_id=message.engineer_id,
            status=Message.Status.PENDING,
        )
        .exclude(contact_method_id=message.contact_method_id)
        .order_by("due_at", "id")
        .first()
    )
    if following is None:
        event_record(
            incident_id=message.incident_id,
            kind=IncidentEvent.Kind.NO_CONTACT,
            at=now,
            actor_id=message.engineer_id,
            message_id=message.pk,
            text=f"no contact method left to reach {message.engineer or 'the engineer'}",
        )
        return
    if following.due_at > now:
        Message.objects.filter(pk=following.pk).update(due_at=now)
    event_record(
        incident_id=message.incident_id,
        kind=IncidentEvent.Kind.NOTIFICATION_QUEUED,
        at=now,
        actor_id=message.engineer_id,
        message_id=following.pk,
        text=f"falling back to {following.kind} ({following.destination})"
        + (f" after {message.kind} {because}" if because else ""),
    )


def message_fallback(*, message_id: int, error: str) -> int:
    """A sent page did not reach its engineer (the provider said so later: a call not
    answered, an SMS undelivered): bring their next rule forward at once.

    Only while the incident is still triggered (an acked incident pages nobody), only
    for pages to an engineer; the contact method itself is left as it is. Returns how
    many incidents fell back (a bundle covers several).
    """
    message = Message.objects.select_related("engineer").filter(pk=message_id).first()
    if message is None or message.engineer_id is None or message.purpose != Message.Purpose.PAGE:
        return 0
    # A bundle stands for the pages folded into it, one per incident.
    pages = (
        [message]
        if message.incident_id is not None
        else sorted(
            message.bundled.select_related("engineer").exclude(incident_id=None),
            key=lambda m: m.incident_id or 0,
        )
    )
    done = 0
    with transaction.atomic():
        for page in pages:
            assert page.incident_id is not None
            # The same lock order as the dispatcher: the incident row first.
            if _incident_lock_status(page.incident_id) != Incident.Status.TRIGGERED:
                continue
            _next_rung_bring_forward(page, because=error)
            done += 1
    return done


def target_label(message: Message) -> str:
    """What a page was sent to, for people: the channel target it pages, as its kind
    names it ("Slack channel C0OPS"; a routing key shows only its end)."""
    target = target_for_message_kind(message.kind)
    if target is None:
        return f"{message.kind} to {message.destination}"
    return target.describe(message.destination)


def _page_outcome_record(message: Message, outcome: SendOutcome, incident_id: int) -> None:
    data: dict[str, str] = {}
    if outcome.ok:
        kind, text = IncidentEvent.Kind.NOTIFICATION_SENT, ""
    elif outcome.permanent:
        kind, text = IncidentEvent.Kind.NOTIFICATION_FAILED, f"{outcome.error} (permanent)"
    else:
        kind, text = IncidentEvent.Kind.NOTIFICATION_FAILED, f"{outcome.error} (will retry)"
    if message.engineer_id is None:
        # A channel target: nobody's ladder continues, so say plainly what was missed.
        target = target_label(message)
        data = {"target": target}
        line = f"{target}: {text}" if text else target
        if outcome.permanent:
            line = f"could not reach {target}: {outcome.error} (permanent)"
    else:
        line = f"{message.kind} to {message.destination}" + (f": {text}" if text else "")
    # A hand-built INSERT (no ORM compile): one line per page sent.
    rows_insert(
        [
            event_build(
                incident_id=incident_id,
                kind=kind,
                actor_id=message.engineer_id,
                message_id=message.pk,
                via=message.kind,
                text=line,
                data=data,
            )
        ]
    )


def _incident_share_status(incident_id: int) -> str | None:
    """The incident's status, held (FOR SHARE on PostgreSQL) until the transaction ends.

    An ack (an UPDATE of the row) waits until the sends in flight are recorded, so no
    page leaves after an ack has committed; sends to one incident share the lock, so an
    ack waits for at most one provider timeout, not for a queue of sends.
    """
    if connection.vendor != "postgresql":
        return Incident.objects.filter(pk=incident_id).values_list("status", flat=True).first()
    with connection.cursor() as cursor:
        cursor.execute("SELECT status FROM paging_incident WHERE id = %s FOR SHARE", [incident_id])
        row = cursor.fetchone()
    return row[0] if row else None


def message_deliver(message: Message, token: str) -> SendOutcome | None:
    """Send one claimed message and record the outcome on its row; None if not sent.

    Only while ``token`` holds the row's lease (checked, and on PostgreSQL row-locked,
    for the whole provider call), and for a page only while its incident is triggered.
    On SQLite nothing is held across the provider call (a write lock there would stop
    every writer for as long as the provider takes): the incident is read just before.
    """
    if not _attempt_begin(message, token):
        return None
    locking = connection.vendor == "postgresql"
    with transaction.atomic() if locking else nullcontext():
        status = (
            _incident_share_status(message.incident_id) if message.incident_id is not None else None
        )
        if locking and not _held_lock(message, token):
            logger.warning("message %s: lease lost before sending", message.pk)
            return None
        if message.incident_id is not None and status != Incident.Status.TRIGGERED:
            _released(
                message,
                token=token,
                status=Message.Status.CANCELLED,
                last_error=f"incident {status}",
                attempt_started_at=None,
            )
            return None
        outcome = _send_and_record(message, token)
        # No savepoint: an error here propagates and rolls the whole send record back
        # with it (on SQLite this opens the transaction).
        with transaction.atomic(savepoint=False):
            if message.incident_id is None:
                if outcome.permanent:
                    _contact_method_failed(message, outcome.error, outcome.disable_reason)
                spec = channel_spec(message.kind)
                if spec is not None and spec.outcome is not None:
                    spec.outcome(message, outcome)
            else:
                _page_outcome_record(message, outcome, message.incident_id)
                if outcome.permanent:
                    _fallback(message, outcome.error, outcome.disable_reason)
    return outcome


def _throttle_free_at(sent_times: list[datetime], limit: int) -> datetime:
    # With n sends in the window, one slot frees when the (n - limit)th oldest ages out.
    return sent_times[len(sent_times) - limit] + THROTTLE_WINDOW


def _deliver_throttled(
    kind: str, limit: int, messages: list[Message], token: str
) -> list[SendOutcome | None]:
    """Send pages to one contact method within its limit; bundle or defer the excess.

    Only pages (bundles included) count: a verification code, a reminder or a notice
    to the same number must not use up the calls left for paging.
    """
    now = timezone.now()
    cm_id = messages[0].contact_method_id
    sent_times = list(
        Message.objects.filter(
            contact_method_id=cm_id,
            kind=kind,
            purpose=Message.Purpose.PAGE,
            sent_at__gt=now - THROTTLE_WINDOW,
            status__in=[Message.Status.SENT, Message.Status.DELIVERED],
        )
        .order_by("sent_at")
        .values_list("sent_at", flat=True)
    )
    available = limit - len(sent_times)
    if available <= 0:
        _defer(kind, limit, messages, _throttle_free_at(sent_times, limit), token)
        return []
    if len(messages) <= available:
        return [message_deliver(message, token) for message in messages]
    outcomes = [message_deliver(message, token) for message in messages[: available - 1]]
    outcomes.append(_bundle_deliver(kind, messages[available - 1 :], token))
    return outcomes


def _defer(kind: str, limit: int, messages: list[Message], free_at: datetime, token: str) -> None:
    """Hold throttled pages until a slot frees (pages of acked incidents are cancelled)."""
    now = timezone.now()
    with transaction.atomic():
        events = []
        for message in sorted(messages, key=lambda m: m.incident_id or 0):
            assert message.incident_id is not None
            status = _incident_lock_status(message.incident_id)
            if status != Incident.Status.TRIGGERED:
                _released(
                    message,
                    token=token,
                    status=Message.Status.CANCELLED,
                    last_error=f"incident {status}",
                )
                continue
            if not _released(message, token=token, status=Message.Status.PENDING, due_at=free_at):
                continue
            events.append(
                event_build(
                    incident_id=message.incident_id,
                    kind=IncidentEvent.Kind.NOTIFICATION_THROTTLED,
                    at=now,
                    actor_id=message.engineer_id,
                    message_id=message.pk,
                    text=f"{kind} limit of {limit} per 15 min reached for "
                    f"{message.destination}; held until {free_at:%H:%M:%S}",
                )
            )
        IncidentEvent.objects.bulk_create(events)


def _bundle_deliver(kind: str, messages: list[Message], token: str) -> SendOutcome | None:
    """Fold several pages to one contact method into one message, and send it."""
    with transaction.atomic():
        live: list[Message] = []
        for message in sorted(messages, key=lambda m: m.incident_id or 0):
            assert message.incident_id is not None
            status = _incident_lock_status(message.incident_id)
            if status == Incident.Status.TRIGGERED:
                live.append(message)
            else:
                _released(
                    message,
                    token=token,
                    status=Message.Status.CANCELLED,
                    last_error=f"incident {status}",
                )
        if len(live) <= 1:
            return message_deliver(live[0], token) if live else None
        incidents = {
            i.pk: i
            for i in Incident.objects.filter(pk__in=[m.incident_id for m in live]).select_related(
                "service"
            )
        }
        services = sorted({incidents[m.incident_id].service.name for m in live})  # type: ignore[index]
        titles = "; ".join(
            f"#{i.pk} {i.title}" for i in sorted(incidents.values(), key=lambda i: i.pk)
        )
        first = live[0]
        now = timezone.now()
        bundle = Message.objects.create(
            idempotency_key=f"bundle:{first.contact_method_id}:{first.pk}:{len(live)}",
            purpose=Message.Purpose.PAGE,
            kind=kind,
            destination=first.destination,
            subject=f"{len(incidents)} open incidents for {', '.join(services)}"[:255],
            body=f"{len(incidents)} open incidents for {', '.join(services)}: {titles}"[:1500],
            status=Message.Status.SENDING,
            claim_token=token,
            lease_expires_at=lease_until(now),
            due_at=now,
            engineer_id=first.engineer_id,
            contact_method_id=first.contact_method_id,
        )
        folded = Message.objects.filter(pk__in=[m.pk for m in live], claim_token=token).update(
            status=Message.Status.BUNDLED,
            bundled_into=bundle,
            claim_token="",
            lease_expires_at=None,
        )
        if folded != len(live):
            # Some row is no longer ours: undo the bundle, its holders send the pages.
            transaction.set_rollback(True)
            return None
        outcome = _send_and_record(bundle, token)
        for message in live:
            assert message.incident_id is not None
            _page_outcome_record(bundle, outcome, message.incident_id)
        if outcome.permanent:
            for message in live:
                _fallback(message, outcome.error, outcome.disable_reason)
    return outcome


def deliveries_plan(rows: list[Message]) -> list[list[Message]]:
    """Split claimed rows into units of work: one row, or all throttled pages to one
    contact method (they are counted, bundled or deferred together)."""
    limits = throttle_limits()
    units: list[list[Message]] = []
    throttled: dict[tuple[str, int], list[Message]] = {}
    for message in rows:
        if message.incident_id and message.contact_method_id and message.kind in limits:
            key = (message.kind, message.contact_method_id)
            if key not in throttled:
                throttled[key] = []
                units.append(throttled[key])
            throttled[key].append(message)
        else:
            units.append([message])
    return units


def deliveries_send(unit: list[Message], token: str) -> list[SendOutcome | None]:
    """Send one unit of ``deliveries_plan`` (rows claimed under ``token``)."""
    limits = throttle_limits()
    first = unit[0]
    if first.incident_id and first.contact_method_id and first.kind in limits:
        return _deliver_throttled(first.kind, limits[first.kind], unit, token)
    return [message_deliver(message, token) for message in unit]
