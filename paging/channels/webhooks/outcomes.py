"""A webhook's failures on its incident's timeline (the outbox's ``ChannelSpec.outcome``
hook, in the transaction that records the attempt)."""

from __future__ import annotations

from typing import Any

from paging.channels.webhooks.models import WebhookDelivery
from paging.models import IncidentEvent, Message
from paging.timeline import event_record


def webhook_outcome_record(message: Message, outcome: Any) -> None:
    """Say on the timeline that an event did not reach its webhook: each failed try
    ("will retry") and the last one ("permanent"). Deliveries are not listed there when
    they succeed (Messages in the admin and the API show them)."""
    if outcome.ok:
        return
    delivery = (
        WebhookDelivery.objects.select_related("endpoint").filter(message_id=message.pk).first()
    )
    if delivery is None:
        return
    target = f"webhook {delivery.endpoint.name}"
    if outcome.permanent:
        text = f"could not deliver {delivery.event} to {target}: {outcome.error} (permanent)"
    else:
        text = f"{delivery.event} to {target}: {outcome.error} (will retry)"
    event_record(
        incident_id=delivery.incident_id,
        kind=IncidentEvent.Kind.NOTIFICATION_FAILED,
        message_id=message.pk,
        via=message.kind,
        text=text,
        data={"target": target, "delivery": str(delivery.delivery_id)},
    )
