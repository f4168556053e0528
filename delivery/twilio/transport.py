"""Twilio SMS and phone-call transports.

Pages are rendered here from the incident (templates beside this file): an SMS with
a reply code and a signed acknowledge link; a call whose TwiML is served by
``/twilio/voice/<message id>/`` (see ``delivery.twilio.views``). Other messages
(verification codes, swaps, reminders) are sent with their body as is. Every send
asks for a status callback at ``/twilio/status/<message id>/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

from django.conf import settings
from django.urls import reverse

from delivery.links import link_url
from delivery.page import incident_view, is_page, message_incidents
from delivery.rendering import TemplateSet
from delivery.reply_codes import ReplyCodesExhausted, reply_code_for
from delivery.twilio.client import public_url, twilio_client, twilio_configured
from delivery.twilio.errors import twilio_error_classify
from paging.channels import TransportError
from paging.models import Message

TEMPLATES = TemplateSet(Path(__file__).parent)
SMS_TITLE_CHARS = 80


def status_callback_url(message: Message) -> str:
    return public_url(reverse("delivery-twilio-status", args=[message.pk]))


def voice_url(message: Message) -> str:
    return public_url(reverse("delivery-twilio-voice", args=[message.pk]))


def sms_text(message: Message) -> str:
    """The SMS for ``message``: a page (or bundle of pages) with reply codes, or its body."""
    if not is_page(message):
        return message.body
    incidents = message_incidents(message)
    if not incidents:
        return message.body
    items = []
    for incident in incidents:
        view = incident_view(incident)
        code = reply_code_for(
            phone=message.destination, incident_id=incident.pk, engineer_id=message.engineer_id
        )
        items.append({"view": view, "code": code, "title": _short(view.title)})
    if len(items) == 1:
        item = items[0]
        context = {
            **item,
            "ack_url": link_url(
                incident_id=item["view"].id,
                engineer_id=message.engineer_id or 0,
                action="acknowledge",
            ),
        }
        return TEMPLATES.text("delivery/twilio/sms_page.txt", context, one_line=True)
    return TEMPLATES.text("delivery/twilio/sms_bundle.txt", {"items": items}, one_line=True)


def _short(title: str) -> str:
    return title if len(title) <= SMS_TITLE_CHARS else title[: SMS_TITLE_CHARS - 1] + "…"


def _from_number() -> str:
    return settings.TWILIO_FROM_NUMBER


def _raise_classified(exc: Exception) -> NoReturn:
    # A bad number carries a disable_reason: the outbox disables the contact method.
    raise twilio_error_classify(exc) from exc


class TwilioSmsTransport:
    name = "twilio-sms"

    def send(self, message: Message) -> str:
        try:
            body = sms_text(message)
        except ReplyCodesExhausted as exc:
            raise TransportError(str(exc), permanent=False) from exc
        try:
            sent = twilio_client().messages.create(
                to=message.destination,
                from_=_from_number(),
                body=body,
                status_callback=status_callback_url(message),
            )
        except Exception as exc:  # classified below; unknown errors propagate
            _raise_classified(exc)
        if not sent.sid:
            raise TransportError("Twilio answered without a message sid", permanent=False)
        return sent.sid


class TwilioVoiceTransport:
    name = "twilio-voice"

    def send(self, message: Message) -> str:
        try:
            call = twilio_client().calls.create(
                to=message.destination,
                from_=_from_number(),
                url=voice_url(message),
                method="POST",
                status_callback=status_callback_url(message),
                status_callback_method="POST",
                status_callback_event=["completed"],
            )
        except Exception as exc:
            _raise_classified(exc)
        if not call.sid:
            raise TransportError("Twilio answered without a call sid", permanent=False)
        return call.sid


def sms_transport() -> TwilioSmsTransport | None:
    return TwilioSmsTransport() if twilio_configured() else None


def voice_transport() -> TwilioVoiceTransport | None:
    return TwilioVoiceTransport() if twilio_configured() else None
