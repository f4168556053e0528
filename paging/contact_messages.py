"""Messages the people directory and the schedules ask for (verification codes, swap
notices), registered as their sender (``oncall.people.hooks``): one outbox row each,
through the contact method's channel, and the dispatcher woken once when the
transaction commits."""

from __future__ import annotations

from oncall.people.hooks import ContactMessage
from paging.kick import kick_engine
from paging.models import Message
from paging.outbox import message_enqueue


def contact_messages_enqueue(messages: list[ContactMessage]) -> list[Message]:
    queued = [
        message_enqueue(
            idempotency_key=m.idempotency_key,
            purpose=m.purpose,
            kind=m.contact_method.kind,
            destination=m.contact_method.value,
            subject=m.subject,
            body=m.body,
            engineer_id=m.contact_method.engineer_id,
            contact_method_id=m.contact_method.pk,
        )
        for m in messages
    ]
    if queued:
        kick_engine()
    return queued
