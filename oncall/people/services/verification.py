"""Proving that a contact method reaches its owner: a 6-digit code sent through it.

Limits (per contact method unless stated):

- a code is valid for ``CODE_TTL`` = 15 minutes; only the newest code works;
- a new code can be sent at most once per ``RESEND_INTERVAL`` = 60 seconds and at most
  ``SENDS_PER_HOUR`` = 5 times in any rolling hour; a refused send raises
  ``VerificationRateLimited`` carrying ``retry_after`` in seconds;
- a code survives ``MAX_WRONG_ATTEMPTS`` = 5 wrong guesses, then it is dead and a new
  one must be requested (5 guesses out of 10^6 codes, 5 codes an hour: brute force
  is hopeless).

Only an HMAC-SHA256 of the code (keyed with ``SECRET_KEY``) is stored. The code
goes out as an outbox message (purpose ``verification``) through the method itself,
and the engine is kicked after commit so it leaves at once.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from oncall.audit.services import audit_record
from oncall.channel_registry import channel_spec
from oncall.people.hooks import ContactMessage, contact_messages_send
from oncall.people.models import ContactMethod, VerificationCode

CODE_TTL = timedelta(minutes=15)
RESEND_INTERVAL = timedelta(seconds=60)
SENDS_PER_HOUR = 5
MAX_WRONG_ATTEMPTS = 5
CODE_DIGITS = 6


class VerificationRateLimited(Exception):
    """A new code was asked for too soon; try again in ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class VerificationSent:
    code: VerificationCode
    message: Any  # the queued outbox message (``paging.models.Message``)


def _code_hash(contact_method_id: int, code: str) -> str:
    # Binding the hash to the contact method means a code row cannot be moved to
    # another method, and without SECRET_KEY a leaked hash cannot be brute-forced.
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{contact_method_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def _retry_after(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


def _message_text(kind: str, code: str) -> tuple[str, str]:
    """(subject, body) for a verification message through a method of ``kind``: written,
    unless the channel says it otherwise (``ChannelSpec.code_text``: a call spells it)."""
    minutes = int(CODE_TTL.total_seconds() // 60)
    spec = channel_spec(kind)
    if spec is not None and spec.code_text is not None:
        body = spec.code_text(code, minutes)
    else:
        body = f"Your on-call verification code is {code}. It expires in {minutes} minutes."
    return "On-call verification code", body


def contact_method_send_verification(*, contact_method: ContactMethod) -> VerificationSent:
    """Create a new code for ``contact_method`` and queue it through that method.

    Raises ``ValidationError`` when the method is disabled or already verified, and
    ``VerificationRateLimited`` when a code was sent too recently (see module doc).
    """
    now = timezone.now()
    code = _new_code()
    with transaction.atomic():
        # Lock the method so that two concurrent requests cannot both pass the limits.
        cm = ContactMethod.objects.select_for_update().get(pk=contact_method.pk)
        if cm.disabled_at is not None:
            raise ValidationError(
                {"contact_method": [f"is disabled ({cm.disabled_reason}); enable it first"]}
            )
        if cm.verified_at is not None:
            raise ValidationError({"contact_method": ["is already verified"]})
        recent = list(
            VerificationCode.objects.filter(
                contact_method=cm, created_at__gt=now - timedelta(hours=1)
            ).order_by("created_at")
        )
        if recent and recent[-1].created_at + RESEND_INTERVAL > now:
            wait = _retry_after(recent[-1].created_at + RESEND_INTERVAL, now)
            raise VerificationRateLimited(
                f"a code was sent less than {int(RESEND_INTERVAL.total_seconds())} seconds"
                f" ago; try again in {wait} s",
                retry_after=wait,
            )
        if len(recent) >= SENDS_PER_HOUR:
            wait = _retry_after(recent[-SENDS_PER_HOUR].created_at + timedelta(hours=1), now)
            raise VerificationRateLimited(
                f"{SENDS_PER_HOUR} codes were sent in the last hour; try again in {wait} s",
                retry_after=wait,
            )
        # Only the newest code works.
        VerificationCode.objects.filter(
            contact_method=cm, used_at__isnull=True, expires_at__gt=now
        ).update(expires_at=now)
        row = VerificationCode.objects.create(
            contact_method=cm,
            code_hash=_code_hash(cm.pk, code),
            created_at=now,
            expires_at=now + CODE_TTL,
        )
        subject, body = _message_text(cm.kind, code)
        # Through the outbox (paging registers the sender): recorded and retried like a page.
        (message,) = contact_messages_send(
            [
                ContactMessage(
                    idempotency_key=f"verify:{row.pk}",
                    purpose="verification",
                    contact_method=cm,
                    subject=subject,
                    body=body,
                )
            ]
        )
    contact_method.refresh_from_db()
    return VerificationSent(code=row, message=message)


def _refuse(reason: str) -> ValidationError:
    return ValidationError({"code": [reason]})


def contact_method_verify(*, contact_method: ContactMethod, code: str) -> ContactMethod:
    """Check ``code`` against the newest code sent to ``contact_method``.

    On success the method is verified. A wrong guess is counted (and committed even
    though a ``ValidationError`` follows); after ``MAX_WRONG_ATTEMPTS`` the code is dead.
    """
    code = "".join((code or "").split())
    if not (code.isdigit() and len(code) == CODE_DIGITS):
        raise _refuse(f"must be the {CODE_DIGITS} digits that were sent")
    now = timezone.now()
    with transaction.atomic():
        cm = ContactMethod.objects.select_for_update().get(pk=contact_method.pk)
        if cm.verified_at is not None:
            raise ValidationError({"contact_method": ["is already verified"]})
        row = (
            VerificationCode.objects.filter(contact_method=cm, used_at__isnull=True)
            .order_by("-created_at", "-pk")
            .first()
        )
        if row is None:
            raise _refuse("no code has been sent to this contact method; request one first")
        if row.expires_at <= now:
            raise _refuse("the code has expired; request a new one")
        if row.attempts >= MAX_WRONG_ATTEMPTS:
            raise _refuse("too many wrong attempts for this code; request a new one")
        if not hmac.compare_digest(row.code_hash, _code_hash(cm.pk, code)):
            # Counted in this transaction, which commits: the refusal is raised after it.
            VerificationCode.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
            left = MAX_WRONG_ATTEMPTS - row.attempts - 1
            wrong = True
        else:
            VerificationCode.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now)
            ContactMethod.objects.filter(pk=cm.pk, verified_at__isnull=True).update(
                verified_at=now, last_error=""
            )
            audit_record("verify", cm, changes={"verified_at": (None, now)})
            wrong = False
    if wrong:
        if left > 0:
            raise _refuse(f"wrong code; {left} attempt{'s' if left != 1 else ''} left")
        raise _refuse("wrong code; no attempts left, request a new one")
    contact_method.refresh_from_db()
    return contact_method


def contact_method_mark_verified(*, contact_method: ContactMethod) -> ContactMethod:
    """Verified on an operator's word, without a code (the demo's fictional numbers)."""
    now = timezone.now()
    ContactMethod.objects.filter(pk=contact_method.pk, verified_at__isnull=True).update(
        verified_at=now
    )
    contact_method.refresh_from_db(fields=["verified_at"])
    return contact_method
