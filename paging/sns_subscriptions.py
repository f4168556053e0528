"""What SNS told an integration about its topics' subscriptions: the one write path."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from oncall.audit.services import audit_record
from paging.models import Integration, SnsSubscription


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
