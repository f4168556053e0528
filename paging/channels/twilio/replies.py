"""Twilio state changes: status callbacks, SMS replies, keypresses.

Each is one function; incident actions go through ``paging.channels.incident_act``
(idempotent: a second ack changes nothing and reports who acknowledged first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from oncall.people.models import ContactMethod
from paging.channels.incident_act import action_outcome_text, incident_act
from paging.channels.page_incidents import message_incidents
from paging.channels.twilio.models import CallAction, InboundSms, SmsReplyCode
from paging.channels.twilio.reply_codes import code_lookup, open_codes
from paging.channels.twilio.sms_grammar import sms_parse
from paging.models import IncidentEvent, Message
from paging.outbox import message_fallback
from paging.timeline import event_record

# --- Twilio status callbacks ---------------------------------------------------------

MESSAGE_DELIVERED = {"delivered", "read"}
MESSAGE_FAILED = {"undelivered", "failed"}
CALL_REACHED = {"completed"}
CALL_NOT_REACHED = {"busy", "no-answer", "failed", "canceled"}
# Not reached by the engineer: their next rule is brought forward at once. (A canceled
# call is one we ended ourselves.)
CALL_FALLBACK = {"busy", "no-answer", "failed"}


@dataclass(frozen=True)
class StatusRecorded:
    changed: bool
    status: str = ""


def twilio_status_record(
    *, message_id: int, sid: str, provider_status: str, error_code: str = ""
) -> StatusRecorded:
    """Record a message or call status callback on the outbox row and the timeline.

    Only final statuses count; a callback for another sid, a repeated or out-of-order
    callback changes nothing (conditional update from sent).
    """
    provider_status = provider_status.lower()
    with transaction.atomic():
        message = Message.objects.filter(pk=message_id).first()
        if message is None or (message.provider_id and sid and message.provider_id != sid):
            return StatusRecorded(changed=False)
        code = f" (Twilio error {error_code})" if error_code else ""
        if message.kind == "voice":
            if provider_status in CALL_REACHED:
                status, error = Message.Status.DELIVERED, ""
            elif provider_status in CALL_NOT_REACHED:
                status, error = Message.Status.FAILED, f"not reached: {provider_status}{code}"
            else:
                return StatusRecorded(changed=False)
        elif provider_status in MESSAGE_DELIVERED:
            status, error = Message.Status.DELIVERED, ""
        elif provider_status in MESSAGE_FAILED:
            status, error = Message.Status.FAILED, f"{provider_status}{code}"
        else:
            return StatusRecorded(changed=False)
        changed = Message.objects.filter(
            pk=message_id, status__in=[Message.Status.SENT, Message.Status.SENDING]
        ).update(status=status, last_error=error)
        if not changed:
            return StatusRecorded(changed=False)
        incident_ids = (
            [message.incident_id]
            if message.incident_id
            else list(message.bundled.values_list("incident_id", flat=True))
        )
        kind = (
            IncidentEvent.Kind.NOTIFICATION_DELIVERED
            if status == Message.Status.DELIVERED
            else IncidentEvent.Kind.NOTIFICATION_FAILED
        )
        what = "answered" if message.kind == "voice" and status == "delivered" else provider_status
        for incident_id in incident_ids:
            if incident_id is None:
                continue
            event_record(
                incident_id=incident_id,
                kind=kind,
                actor_id=message.engineer_id,
                message_id=message.pk,
                via=message.kind,
                text=f"{message.kind} to {message.destination}: {error or what}",
                data={"provider_status": provider_status, "error_code": error_code},
            )
    fallback = provider_status in (CALL_FALLBACK if message.kind == "voice" else MESSAGE_FAILED)
    if status == Message.Status.FAILED and fallback:
        # Its own transaction, after this one: it locks the incident row first, like
        # the dispatcher, and does nothing once the incident is acknowledged.
        message_fallback(message_id=message.pk, error=error)
    return StatusRecorded(changed=True, status=status)


# --- Inbound SMS ------------------------------------------------------------------------


def error_reply_limit() -> tuple[int, timedelta]:
    return (
        settings.SMS_ERROR_REPLY_LIMIT,
        timedelta(seconds=settings.SMS_ERROR_REPLY_WINDOW_SECONDS),
    )


def _open_list(phone: str) -> str:
    codes = open_codes(phone=phone)
    if not codes:
        return "You have no open incidents paged to this phone."
    listed = "; ".join(f"{c.code} = #{c.incident_id} {c.incident.title[:40]}" for c in codes[:5])
    more = f" (+{len(codes) - 5} more)" if len(codes) > 5 else ""
    return f"Open: {listed}{more}."


HELP = "Reply e.g. 1a to acknowledge, 1r to resolve, 1e to escalate (1 = the code in our text)."


@dataclass(frozen=True)
class SmsReply:
    text: str | None  # None: say nothing (rate limited, or a repeated delivery)
    outcome: str


def sms_reply_handle(*, phone: str, body: str, message_sid: str = "") -> SmsReply:
    """Act on an SMS reply (grammar: ``paging.channels.twilio.sms_grammar``) and say what happened.

    Each ``MessageSid`` is acted on once (Twilio retries webhooks). Error answers
    (unknown code, stale incident, not understood) to one number are limited to
    ``SMS_ERROR_REPLY_LIMIT`` per ``SMS_ERROR_REPLY_WINDOW_SECONDS``.
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            row = InboundSms.objects.create(
                phone=phone,
                body=body[:320],
                message_sid=message_sid[:64],
                outcome="received",
                received_at=now,
            )
    except IntegrityError:
        return SmsReply(text=None, outcome="duplicate")
    outcome, text, is_error = _sms_command_run(phone, body)
    replied = True
    if is_error:
        limit, window = error_reply_limit()
        recent = (
            InboundSms.objects.filter(
                phone=phone, is_error=True, replied=True, received_at__gt=now - window
            )
            .exclude(pk=row.pk)
            .count()
        )
        replied = recent < limit
    InboundSms.objects.filter(pk=row.pk).update(outcome=outcome, is_error=is_error, replied=replied)
    return SmsReply(text=text if replied else None, outcome=outcome)


def _sms_command_run(phone: str, body: str) -> tuple[str, str, bool]:
    """(outcome, reply text, is it an error answer)."""
    command = sms_parse(body)
    if command is None:
        if not _phone_known(phone):
            return "unknown_phone", "This number is not linked to an on-call engineer.", True
        return "not_understood", f"Sorry, I did not understand. {HELP}", True
    slot: SmsReplyCode | None
    if command.code is None:
        codes = open_codes(phone=phone)
        if not codes:
            return "no_open", "You have no open incidents paged to this phone.", True
        if len(codes) > 1:
            text = f"{len(codes)} open incidents: say which. {_open_list(phone)} {HELP}"
            return "ambiguous", text, True
        slot = codes[0]
    else:
        slot = code_lookup(phone=phone, code=command.code)
        if slot is None:
            text = (
                f"Code {command.code} does not match an incident paged to this phone. "
                f"{_open_list(phone)}"
            )
            return "unknown_code", text, True
    result = incident_act(
        action=command.action, incident_id=slot.incident_id, engineer_id=slot.engineer_id, via="sms"
    )
    text = action_outcome_text(command.action, result)
    return (command.action, text, False) if result.changed else ("stale", text, True)


def _phone_known(phone: str) -> bool:
    return (
        ContactMethod.objects.filter(kind__in=["sms", "voice"], value=phone).exists()
        or SmsReplyCode.objects.filter(phone=phone).exists()
    )


# --- Phone keypresses ----------------------------------------------------------------------

DIGIT_ACTIONS = {"1": "acknowledge", "2": "escalate", "3": "resolve"}


class CallMismatch(Exception):
    """The keypress names a call we did not place for this message."""


def voice_digit_handle(*, message_id: int, call_sid: str, digit: str) -> list[str]:
    """Act on a keypress during a page call; returns the sentences to say back.

    One action per call: a retried or replayed request with the same ``CallSid``
    says the first answer again and changes nothing.
    """
    action = DIGIT_ACTIONS[digit]
    message = Message.objects.get(pk=message_id, purpose=Message.Purpose.PAGE)
    if message.provider_id and message.provider_id != call_sid:
        raise CallMismatch(f"call {call_sid} is not the call for message {message_id}")
    try:
        with transaction.atomic():
            claim = CallAction.objects.create(
                call_sid=call_sid, message=message, digit=digit, at=timezone.now()
            )
    except IntegrityError:
        first = CallAction.objects.get(call_sid=call_sid)
        return [first.said or "This call was already answered."]
    said = []
    for incident in message_incidents(message):
        result = incident_act(
            action=action, incident_id=incident.pk, engineer_id=message.engineer_id, via="voice"
        )
        said.append(action_outcome_text(action, result))
    CallAction.objects.filter(pk=claim.pk).update(said=" ".join(said))
    return said
