"""E-mail through Django's SMTP backend: a text and an HTML part.

Pages carry signed acknowledge and resolve links per incident (templates beside this
file); other messages (verification codes, swaps, reminders) send their body as is.

A message whose end of data went out but whose answer never came (a timeout, a dropped
connection: ``paging.channels.email.backend``) raises with ``maybe_sent=True``. SMTP has no
way to ask a server what it queued, so there is no ``find_sent``: the outbox sends it
again and says so on the timeline. Failing to connect, or any failure before the end
of the data, sent nothing.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.utils import make_msgid
from pathlib import Path
from typing import Any, NoReturn

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from paging.channels import TransportError
from paging.channels.email.backend import SmtpAnswerLost
from paging.channels.links.tokens import link_url
from paging.channels.page_incidents import incident_view, is_page, message_incidents
from paging.channels.rendering import TemplateSet
from paging.models import Message

TEMPLATES = TemplateSet(Path(__file__).parent)
SMTP_BACKEND = "paging.channels.email.backend.EmailBackend"
# The same backend's path before delivery/ moved into paging/channels/: a
# DELIVERY_EMAIL_BACKEND set to it keeps working.
MOVED_BACKENDS = {
    "delivery.email.backend.EmailBackend": SMTP_BACKEND,  # layout_rewrite: keep
}


def email_backend_path() -> str:
    """DELIVERY_EMAIL_BACKEND, or this folder's SMTP backend."""
    path = settings.DELIVERY_EMAIL_BACKEND
    return MOVED_BACKENDS.get(path, path)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def email_render(message: Message) -> RenderedEmail:
    if not is_page(message) or not (incidents := message_incidents(message)):
        return RenderedEmail(
            subject=message.subject or "On-call notice",
            text=message.body.strip() + "\n",
            html=TEMPLATES.markup("delivery/email/plain.html", {"message": message}),
        )
    engineer_id = message.engineer_id or 0
    items = [
        {
            "view": incident_view(incident),
            "ack_url": link_url(
                incident_id=incident.pk, engineer_id=engineer_id, action="acknowledge"
            ),
            "resolve_url": link_url(
                incident_id=incident.pk, engineer_id=engineer_id, action="resolve"
            ),
        }
        for incident in incidents
    ]
    context: dict[str, Any] = {"items": items, "subject": message.subject}
    subject = message.subject or TEMPLATES.text(
        "delivery/email/page_subject.txt", context, one_line=True
    )
    return RenderedEmail(
        subject=" ".join(subject.split())[:255],
        text=TEMPLATES.text("delivery/email/page.txt", context),
        html=TEMPLATES.markup("delivery/email/page.html", context),
    )


def _smtp_code(exc: smtplib.SMTPResponseException) -> int:
    return int(getattr(exc, "smtp_code", 0) or 0)


def _raise_classified(exc: Exception) -> NoReturn:
    if isinstance(exc, SmtpAnswerLost):
        raise TransportError(
            f"SMTP answer lost after the message was sent: {exc}",
            permanent=False,
            maybe_sent=True,
        ) from exc
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(
            f"{addr}: {code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
            for addr, (code, msg) in exc.recipients.items()
        )
        if codes and all(code >= 500 for code in codes):
            reason = f"SMTP recipient refused: {detail}"[:255]
            # The outbox disables the contact method (transports never write state).
            raise TransportError(reason, permanent=True, disable_reason=reason) from exc
        raise TransportError(f"SMTP recipient deferred: {detail}", permanent=False) from exc
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        raise TransportError(f"SMTP authentication failed: {exc}", permanent=True) from exc
    if isinstance(exc, smtplib.SMTPResponseException):
        permanent = _smtp_code(exc) >= 500
        raise TransportError(f"SMTP error: {exc}", permanent=permanent) from exc
    if isinstance(exc, ValueError):
        # Django refuses header injection (a newline in the address): the address is bad.
        raise TransportError(f"invalid e-mail address or header: {exc}", permanent=True) from exc
    if isinstance(exc, smtplib.SMTPException | OSError):
        # Connection refused, timeouts, disconnects before the end of the data (our
        # backend marks a disconnect after it as SmtpAnswerLost): nothing was sent.
        raise TransportError(f"SMTP server unreachable: {exc}", permanent=False) from exc
    raise exc


class EmailTransport:
    name = "email"

    def send(self, message: Message) -> str:
        rendered = email_render(message)
        message_id = make_msgid(domain=settings.EMAIL_MESSAGE_ID_DOMAIN or None)
        mail = EmailMultiAlternatives(
            subject=rendered.subject,
            body=rendered.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.destination],
            headers={"Message-ID": message_id, "Auto-Submitted": "auto-generated"},
            connection=get_connection(
                email_backend_path(),
                fail_silently=False,
                timeout=float(settings.EMAIL_TIMEOUT),
            ),
        )
        mail.attach_alternative(rendered.html, "text/html")
        try:
            sent = mail.send(fail_silently=False)
        except Exception as exc:
            _raise_classified(exc)
        if not sent:
            raise TransportError("the SMTP backend sent nothing", permanent=False)
        return message_id.strip("<>")


def email_transport() -> EmailTransport | None:
    return EmailTransport() if settings.EMAIL_ENABLED else None
