"""Twilio webhooks: inbound SMS replies, call TwiML and keypresses, status callbacks.

All are POST, signed (``twilio_signed``: 403 otherwise) and answer TwiML or 204.
Malformed input is a 400 naming the field; nothing here raises a 500 on bad input.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import reverse

from oncall.public_url import public_url
from paging.channels.page_incidents import incident_view, is_page, message_incidents
from paging.channels.rendering import TemplateSet
from paging.channels.twilio.replies import (
    DIGIT_ACTIONS,
    CallMismatch,
    sms_reply_handle,
    twilio_status_record,
    voice_digit_handle,
)
from paging.channels.twilio.signature import twilio_signed
from paging.models import Message

TEMPLATES = TemplateSet(Path(__file__).parent)
TWIML = "application/xml"
_PHONE = re.compile(r"^\+?[0-9]{3,20}$")
_SID = re.compile(r"^[A-Za-z0-9]{0,64}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _twiml(name: str, context: dict) -> HttpResponse:
    return HttpResponse(TEMPLATES.markup(name, context), content_type=TWIML)


def _field(request: HttpRequest, name: str, pattern: re.Pattern[str] | None = None) -> str:
    value = request.POST.get(name, "")
    if pattern is not None and not pattern.match(value):
        raise ValueError(f"{name}: not a valid value")
    return value


@twilio_signed
def sms_inbound(request: HttpRequest) -> HttpResponse:
    """An SMS reply: ``From`` + ``Body`` (grammar in ``paging.channels.twilio.sms_grammar``)."""
    try:
        phone = _field(request, "From", _PHONE)
        sid = _field(request, "MessageSid", _SID)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    # Control characters (NUL cannot even be stored in PostgreSQL) carry no meaning here.
    body = _CONTROL.sub("", request.POST.get("Body", ""))[:1600]
    reply = sms_reply_handle(phone=phone, body=body, message_sid=sid)
    return _twiml("delivery/twilio/sms_reply.xml", {"text": reply.text})


@twilio_signed
def status_callback(request: HttpRequest, message_id: int) -> HttpResponse:
    """Message (``MessageStatus``) and call (``CallStatus``) status callbacks."""
    try:
        sid = _field(request, "MessageSid", _SID) or _field(request, "CallSid", _SID)
        status = request.POST.get("MessageStatus") or request.POST.get("CallStatus") or ""
        if not re.match(r"^[a-z-]{1,32}$", status):
            raise ValueError("MessageStatus/CallStatus: missing or not a status")
        error_code = _field(request, "ErrorCode", re.compile(r"^[0-9]{0,10}$"))
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    twilio_status_record(
        message_id=message_id, sid=sid, provider_status=status, error_code=error_code
    )
    return HttpResponse(status=204)


def _voice_message(message_id: int) -> Message | None:
    return Message.objects.filter(pk=message_id, kind="voice").first()


def _call_context(message: Message) -> dict:
    gather_url = public_url(reverse("delivery-twilio-gather", args=[message.pk]))
    views = [incident_view(i) for i in message_incidents(message)]
    return {"message": message, "incidents": views, "gather_url": gather_url}


@twilio_signed
def voice_answer(request: HttpRequest, message_id: int) -> HttpResponse:
    """TwiML for a call we placed: read the incident out and offer the keys."""
    message = _voice_message(message_id)
    if message is None:
        return _twiml("delivery/twilio/voice_say.xml", {"lines": ["This call has expired."]})
    if not is_page(message):
        # Verification codes, reminders, notices: their text is written to be spoken.
        return _twiml("delivery/twilio/voice_say.xml", {"lines": [message.body]})
    return _twiml("delivery/twilio/voice_page.xml", _call_context(message))


@twilio_signed
def voice_gather(request: HttpRequest, message_id: int) -> HttpResponse:
    """The key pressed during a page call: 1 ack, 2 escalate, 3 resolve, 9 repeat."""
    digits = request.POST.get("Digits", "")
    try:
        call_sid = _field(request, "CallSid", _SID)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    if not call_sid:
        return HttpResponseBadRequest("CallSid: required")
    message = _voice_message(message_id)
    if message is None or not is_page(message):
        return _twiml("delivery/twilio/voice_say.xml", {"lines": ["This call has expired."]})
    if digits in DIGIT_ACTIONS:
        try:
            lines = voice_digit_handle(message_id=message.pk, call_sid=call_sid, digit=digits)
        except CallMismatch:
            return _twiml("delivery/twilio/voice_say.xml", {"lines": ["This call has expired."]})
        return _twiml("delivery/twilio/voice_say.xml", {"lines": [*lines, "Goodbye."]})
    context = _call_context(message)
    if digits != "9":
        context["preface"] = "Sorry, that key does nothing."
    return _twiml("delivery/twilio/voice_page.xml", context)
