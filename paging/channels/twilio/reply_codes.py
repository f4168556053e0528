"""Short SMS reply codes: per phone, one per incident, never reused while answerable.

A code names an incident in replies from one phone. It stays bound to its incident
while the incident is open and for ``SMS_REPLY_CODE_REUSE_AFTER_SECONDS`` (default:
the signed-link lifetime) after it was resolved, so a late "1a" can only ever reach
the incident the text was about. Then the slot may be given to a new incident; the
lowest free number is used so codes stay one or two digits.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from paging.channels.twilio.models import SmsReplyCode
from paging.models import Incident

_ALLOCATION_TRIES = 8


class ReplyCodesExhausted(Exception):
    """Every try to take a free code lost a race (retry the send later)."""


def reuse_after() -> timedelta:
    return timedelta(seconds=settings.SMS_REPLY_CODE_REUSE_AFTER_SECONDS)


def _reusable(slot: SmsReplyCode, cutoff) -> bool:
    incident = slot.incident
    return (
        incident.status == Incident.Status.RESOLVED
        and incident.resolved_at is not None
        and incident.resolved_at <= cutoff
    )


def reply_code_for(*, phone: str, incident_id: int, engineer_id: int | None) -> int:
    """The code of ``incident_id`` for ``phone``, allocating one on first use.

    Runs in a savepoint per try: two senders racing for the same number meet the
    unique constraint, and the loser tries the next free number.
    """
    for _ in range(_ALLOCATION_TRIES):
        existing = SmsReplyCode.objects.filter(phone=phone, incident_id=incident_id).first()
        if existing is not None:
            return existing.code
        now = timezone.now()
        cutoff = now - reuse_after()
        slots = list(SmsReplyCode.objects.filter(phone=phone).select_related("incident"))
        taken = {s.code for s in slots if not _reusable(s, cutoff)}
        code = next(n for n in range(1, len(slots) + 2) if n not in taken)
        slot = next((s for s in slots if s.code == code), None)
        try:
            with transaction.atomic():
                if slot is None:
                    SmsReplyCode.objects.create(
                        phone=phone,
                        code=code,
                        incident_id=incident_id,
                        engineer_id=engineer_id,
                        assigned_at=now,
                    )
                    return code
                # Conditional: only if nobody re-assigned the slot since we read it.
                moved = SmsReplyCode.objects.filter(
                    pk=slot.pk, incident_id=slot.incident_id
                ).update(incident_id=incident_id, engineer_id=engineer_id, assigned_at=now)
                if moved:
                    return code
        except IntegrityError:
            continue
    raise ReplyCodesExhausted(f"could not allocate an SMS reply code for {phone}")


def open_codes(*, phone: str) -> list[SmsReplyCode]:
    """The phone's codes of open incidents, lowest code first."""
    return list(
        SmsReplyCode.objects.filter(phone=phone, incident__status__in=Incident.OPEN_STATUSES)
        .select_related("incident", "incident__service", "engineer")
        .order_by("code")
    )


def code_lookup(*, phone: str, code: int) -> SmsReplyCode | None:
    return (
        SmsReplyCode.objects.filter(Q(phone=phone) & Q(code=code))
        .select_related("incident", "incident__service", "engineer")
        .first()
    )
