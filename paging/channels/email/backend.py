"""Django's SMTP backend, telling a lost answer to a whole message from an early failure.

smtplib turns every failure after connecting into ``SMTPServerDisconnected``: a
timeout waiting for the greeting, for RCPT's answer, or for the answer to the end of
the message's data all look alike. Only the last means the server may have queued the
mail. The connection here remembers when the end-of-data mark went out, and the
backend raises ``SmtpAnswerLost`` for a disconnect after it.
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.core.mail.backends import smtp
from django.core.mail.message import EmailMessage

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

# smtplib.SMTP.data() sends the message and the terminating "<CRLF>.<CRLF>" in one call.
_END_OF_DATA = b"\r\n.\r\n"


class SmtpAnswerLost(smtplib.SMTPServerDisconnected):
    """The whole message went out but its answer did not come: the mail may be queued."""


class _Tracking(smtplib.SMTP):
    """smtplib's connection, with ``data_sent`` once the end-of-data mark is out (mixed
    before ``SMTP_SSL`` too: the MRO then runs these before its methods)."""

    data_sent = False

    def mail(self, sender: str, options: Sequence[str] = ()) -> tuple[int, bytes]:
        self.data_sent = False  # a new transaction
        return super().mail(sender, options)

    def send(self, s: ReadableBuffer | str) -> None:
        super().send(s)
        # After sendall() returned: the server has every byte of the message.
        if isinstance(s, bytes) and s.endswith(_END_OF_DATA):
            self.data_sent = True


class TrackingSMTP(_Tracking):
    pass


class TrackingSMTPSSL(_Tracking, smtplib.SMTP_SSL):
    pass


class EmailBackend(smtp.EmailBackend):
    @property
    def connection_class(self) -> type[smtplib.SMTP]:
        return TrackingSMTPSSL if self.use_ssl else TrackingSMTP

    def _send(self, email_message: EmailMessage) -> bool:
        try:
            # Django's private send step, which its stubs leave out.
            return super()._send(email_message)  # type: ignore[misc]
        except smtplib.SMTPServerDisconnected as exc:
            if getattr(self.connection, "data_sent", False):
                raise SmtpAnswerLost(str(exc)) from exc
            raise
