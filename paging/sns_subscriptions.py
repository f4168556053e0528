"""What SNS told an integration about its topics' subscriptions, and the notifications
that already acted: the one write path of each."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from oncall.audit.services import audit_record
from paging.models import Integration, SnsMessageSeen, SnsSubscription


def sns_subscription_set(
    *, integration: Integration, topic_arn: str, status: str
) -> SnsSubscription:
    """Record a topic's subscription as confirmed or unsubscribed (audit trail: the alert
    source). A topic that unsubscribed is refused until it subscribes again."""
    now = timezone.now()
    with transaction.atomic():
        subscription, created = SnsSubscription.objects.select_for_update().get_or_create(
            integration=integration,
            topic_arn=topic_arn,
            defaults={"status": status, "updated_at": now},
        )
        old = "" if created else subscription.status
        subscription.status = status
        subscription.updated_at = now
        if status == SnsSubscription.Status.CONFIRMED:
            subscription.confirmed_at = now
        else:
            subscription.unsubscribed_at = now
        subscription.save()
        action = "confirm" if status == SnsSubscription.Status.CONFIRMED else "unsubscribe"
        audit_record(action, subscription, changes={"status": (old, status)})
    return subscription


def sns_topic_unsubscribed(*, integration: Integration, topic_arn: str) -> bool:
    """True when SNS said this topic unsubscribed from the integration (and it has not
    subscribed again since)."""
    return SnsSubscription.objects.filter(
        integration=integration,
        topic_arn=topic_arn,
        status=SnsSubscription.Status.UNSUBSCRIBED,
    ).exists()


def sns_message_claim(*, integration: Integration, message_id: str) -> bool:
    """True the first time a notification's ``MessageId`` reaches this integration,
    False when it already acted (a replay). Call it inside the transaction that acts on
    the message: if that rolls back, the id is not kept and SNS's retry is handled."""
    now = timezone.now()
    max_age = timedelta(seconds=settings.SNS_MAX_MESSAGE_AGE_SECONDS)
    # Older ids need no keeping: their messages are refused by Timestamp already.
    SnsMessageSeen.objects.filter(received_at__lt=now - 2 * max_age).delete()
    try:
        with transaction.atomic():
            SnsMessageSeen.objects.create(
                integration=integration, message_id=message_id[:255], received_at=now
            )
    except IntegrityError:
        return False
    return True
