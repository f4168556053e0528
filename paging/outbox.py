"""The outbox: enqueue messages inside a transaction, dispatch due ones after."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from paging.channels import TransportError, channel_for
from paging.models import Message

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# A row left in "sending" this long belongs to a worker that died mid-send.
SENDING_LEASE = timedelta(minutes=2)


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: 10 s, 20 s, 40 s … capped at 5 minutes."""
    return timedelta(seconds=min(10 * 2 ** max(attempts - 1, 0), 300))


def message_enqueue(
    *,
    idempotency_key: str,
    purpose: str,
    kind: str,
    destination: str,
    body: str,
    subject: str = "",
    due_at: datetime | None = None,
    engineer_id: int | None = None,
    contact_method_id: int | None = None,
) -> Message:
    """Record a message to send; a second call with the same key returns the first row."""
    message, _ = Message.objects.get_or_create(
        idempotency_key=idempotency_key,
        defaults={
            "purpose": purpose,
            "kind": kind,
            "destination": destination,
            "body": body,
            "subject": subject,
            "due_at": due_at or timezone.now(),
            "engineer_id": engineer_id,
            "contact_method_id": contact_method_id,
        },
    )
    return message


def _claim_due(limit: int) -> list[Message]:
    now = timezone.now()
    with transaction.atomic():
        # Rescue rows whose sender died after claiming them.
        Message.objects.filter(
            status=Message.Status.SENDING, due_at__lte=now - SENDING_LEASE
        ).update(status=Message.Status.PENDING)
        rows = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(status=Message.Status.PENDING, due_at__lte=now)
            .order_by("due_at", "id")[:limit]
        )
        ids = [row.pk for row in rows]
        # due_at doubles as the lease start while a row is being sent.
        Message.objects.filter(pk__in=ids).update(status=Message.Status.SENDING, due_at=now)
    return rows


def message_deliver(message: Message) -> None:
    """Send one claimed message and record the outcome on its row."""
    channel = channel_for(message.kind)
    attempts = message.attempts + 1
    try:
        provider_id = channel.send(message)
    except TransportError as exc:
        permanent = exc.permanent or attempts >= MAX_ATTEMPTS
        Message.objects.filter(pk=message.pk).update(
            status=Message.Status.FAILED if permanent else Message.Status.PENDING,
            attempts=attempts,
            transport=channel.name,
            last_error=str(exc),
            due_at=timezone.now() + retry_delay(attempts),
        )
        logger.warning("message %s failed (permanent=%s): %s", message.pk, permanent, exc)
        return
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.SENT,
        attempts=attempts,
        transport=channel.name,
        provider_id=provider_id,
        sent_at=timezone.now(),
        last_error="",
    )


def dispatch_due(limit: int = 200) -> int:
    """Send every due pending message (up to ``limit``); returns how many were tried."""
    rows = _claim_due(limit)
    for message in rows:
        message_deliver(message)
    return len(rows)
