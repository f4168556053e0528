"""Twilio SMS and phone-call transports.

Pages are rendered here from the incident (templates beside this file): an SMS with
a reply code and a signed acknowledge link; a call whose TwiML is served by
``/twilio/voice/<message id>/`` (see ``paging.channels.twilio.views``). Other messages
(verification codes, swaps, reminders) are sent with their body as is. Every send
asks for a status callback at ``/twilio/status/<message id>/``.

A send whose answer was lost (``TransportError(maybe_sent=True)``: a read timeout, a
dropped connection) is looked up with ``find_sent`` before the outbox sends it again:
Twilio lists the messages/calls it has to that number from our number (see
``find_sent`` on each transport for exactly how a copy is recognised).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

from django.conf import settings
from django.urls import reverse

from oncall.public_url import public_url
from paging.channels import TransportError
from paging.channels.links.tokens import link_url
from paging.channels.page_incidents import incident_view, is_page, message_incidents
from paging.channels.rendering import TemplateSet
from paging.channels.twilio.client import twilio_client, twilio_configured
from paging.channels.twilio.errors import twilio_error_classify
from paging.channels.twilio.reply_codes import ReplyCodesExhausted, reply_code_for
from paging.models import Message

TEMPLATES = TemplateSet(Path(__file__).parent)
SMS_TITLE_CHARS = 80

# Reconciling a lost answer. Twilio's times are whole seconds (RFC 2822) from Twilio's
# clock, ``since`` is ours: a copy created up to this much before ``since`` still counts.
RECONCILE_SKEW = timedelta(seconds=60)
# How many rows one lookup reads at most (per list request; newest first).
RECONCILE_LIMIT = 200
RECONCILE_RECENT = 50


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
    items: list[dict[str, Any]] = []
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


# --- reconciling a send whose answer was lost ---------------------------------------

# A signed action link's token ends in ``.<timestamp>.<signature>``: it differs between
# two renderings of the same SMS a second apart. The part before names the incident,
# the engineer and the action, and is kept.
_LINK_SIGNATURE = re.compile(r"(\b\d{1,18}-\d{1,18}-[ar])\.[0-9A-Za-z]+\.[0-9A-Za-z_-]+")
# What Twilio's "smart encoding" may have replaced (it swaps look-alike Unicode for GSM-7).
_LOOKALIKES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u00a0": " ",
    }
)


def sms_fingerprint(text: str) -> str:
    """``text`` as compared when reconciling: signed-link timestamps and signatures cut,
    Unicode folded (NFKC: "…" is "..."), look-alike quotes and dashes made ASCII,
    whitespace collapsed."""
    text = _LINK_SIGNATURE.sub(r"\1", text)
    text = unicodedata.normalize("NFKC", text).translate(_LOOKALIKES)
    return " ".join(text.split())


def _digits(number: str | None) -> str:
    return re.sub(r"[^0-9]", "", number or "")


def _claimed_elsewhere(message: Message, sids: Iterable[str]) -> set[str]:
    """The sids another outbox row already recorded as its own: never ours."""
    return set(
        Message.objects.filter(provider_id__in=list(sids))
        .exclude(pk=message.pk)
        .values_list("provider_id", flat=True)
    )


def _earliest_unclaimed(message: Message, rows: list[Any]) -> str | None:
    """The sid of the earliest of ``rows`` that no other outbox row has claimed.

    The earliest after ``since`` is the attempt's own copy: a later identical one belongs
    to a later send (to this number, from us) that another row recorded, or will.
    """
    by_sid = {row.sid: row for row in rows if row.sid}
    if not by_sid:
        return None
    taken = _claimed_elsewhere(message, by_sid)
    # Oldest first (Twilio lists newest first), so that min() keeps the older of two
    # copies created in the same second.
    free = [row for sid, row in reversed(by_sid.items()) if sid not in taken]
    if not free:
        return None
    return min(free, key=lambda row: row.date_created).sid


def _lookup(what: str, fetch: Callable[[], list[Any]]) -> list[Any]:
    try:
        return fetch()
    except Exception as exc:  # classified: the outbox retries the lookup later
        error = twilio_error_classify(exc)
        raise TransportError(
            f"Twilio lookup of {what} failed: {error}", permanent=error.permanent
        ) from exc


def _lookup_window(since: datetime) -> tuple[datetime, str]:
    """The earliest creation time that counts and the ``DateSent>``/``StartTime>``
    filter for it: Twilio's filter takes a date (YYYY-MM-DD, UTC), not a time."""
    after = since - RECONCILE_SKEW
    return after, after.astimezone(UTC).date().isoformat()


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

    def find_sent(self, message: Message, since: datetime) -> str | None:
        """The sid of an SMS Twilio accepted for ``message`` at or after ``since``.

        Two list requests, both filtered by Twilio on To (the destination) and From (our
        number): those sent since the day of ``since - RECONCILE_SKEW`` (``DateSent>``,
        date-granular) and the newest ``RECONCILE_RECENT`` (a message Twilio still queues
        has no DateSent and would not pass that filter). A row matches when it is
        outbound, its To/From digits are ours, its ``date_created`` (else ``date_sent``)
        is at or after ``since - RECONCILE_SKEW``, and its body has the fingerprint of
        the body we would send now (``sms_fingerprint``: equal, or ending with it, as
        Twilio prefixes trial-account messages). Of the matches, the earliest that no
        other outbox row has recorded as its provider id wins.
        """
        try:
            expected = sms_fingerprint(sms_text(message))
        except ReplyCodesExhausted as exc:
            raise TransportError(str(exc), permanent=False) from exc
        after, day = _lookup_window(since)
        client = twilio_client()
        query = {"to": message.destination, "from_": _from_number()}
        rows = _lookup(
            "messages",
            lambda: [
                *client.messages.list(**query, date_sent_after=day, limit=RECONCILE_LIMIT),
                *client.messages.list(**query, limit=RECONCILE_RECENT),
            ],
        )

        def matches(row: Any) -> bool:
            created = row.date_created or row.date_sent
            if not isinstance(created, datetime) or created < after:
                return False
            if not str(row.direction or "").startswith("outbound"):
                return False
            if _digits(row.to) != _digits(message.destination):
                return False
            if _digits(row.from_) != _digits(_from_number()):
                return False
            body = sms_fingerprint(row.body or "")
            return bool(expected) and (body == expected or body.endswith(" " + expected))

        return _earliest_unclaimed(message, [row for row in rows if matches(row)])


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

    def find_sent(self, message: Message, since: datetime) -> str | None:
        """The sid of a call Twilio accepted for ``message`` at or after ``since``.

        Like the SMS lookup (``StartTime>`` for the day, plus the newest calls, as a
        queued call has no start time yet), filtered by Twilio on To and From. A call
        has no body, and Twilio's Call resource does not echo the TwiML url (which
        names the message), so a row matches on: outbound, To/From digits ours,
        ``date_created`` at or after ``since - RECONCILE_SKEW``. Of the matches, the
        earliest that no other outbox row has recorded as its provider id wins: a later
        call to the same number is another row's (which records its sid when it
        leaves, or reconciles before this one takes it).
        """
        after, day = _lookup_window(since)
        client = twilio_client()
        query = {"to": message.destination, "from_": _from_number()}
        rows = _lookup(
            "calls",
            lambda: [
                *client.calls.list(**query, start_time_after=day, limit=RECONCILE_LIMIT),
                *client.calls.list(**query, limit=RECONCILE_RECENT),
            ],
        )

        def matches(row: Any) -> bool:
            created = row.date_created
            if not isinstance(created, datetime) or created < after:
                return False
            if not str(row.direction or "").startswith("outbound"):
                return False
            # CallInstance keeps "from" as ``_from`` (``from`` is a keyword).
            from_number = getattr(row, "_from", None) or getattr(row, "from_", None)
            if from_number is not None and _digits(from_number) != _digits(_from_number()):
                return False
            return _digits(row.to) == _digits(message.destination)

        return _earliest_unclaimed(message, [row for row in rows if matches(row)])


def sms_transport() -> TwilioSmsTransport | None:
    return TwilioSmsTransport() if twilio_configured() else None


def voice_transport() -> TwilioVoiceTransport | None:
    return TwilioVoiceTransport() if twilio_configured() else None
