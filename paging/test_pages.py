""" "Send me a test page": a real message through one of my contact methods, so an
engineer knows a page reaches them before the night it matters.

It is an ordinary outbox message (purpose ``notice``, idempotency key ``testpage:…``):
sent by the dispatcher through the method's channel, recorded with its result
(status, provider id, error) like every page, and on the audit trail. Limits per
contact method: one per ``TEST_PAGE_INTERVAL`` (60 s) and ``TEST_PAGES_PER_HOUR`` (5)
in any rolling hour; a refused send raises ``TestPageRateLimited``.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from oncall.audit.services import audit_record
from oncall.people.models import ContactMethod
from oncall.timefmt import local_text
from paging.kick import kick_engine
from paging.models import Message
from paging.outbox import message_enqueue

TEST_PAGE_INTERVAL = timedelta(seconds=60)
TEST_PAGES_PER_HOUR = 5
KEY_PREFIX = "testpage:"


class TestPageRateLimited(Exception):
    """Too soon after the last test page; try again in ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _wait(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds()))


def test_pages_of(contact_method: ContactMethod):  # noqa: ANN201 - a QuerySet of Message
    return Message.objects.filter(
        contact_method=contact_method, idempotency_key__startswith=KEY_PREFIX
    ).order_by("-created_at", "-pk")


def contact_method_send_test(*, contact_method: ContactMethod) -> Message:
    """Queue a test page through ``contact_method`` and wake the dispatcher.

    Refused (``ValidationError`` on ``contact_method``) when the method is disabled or
    is a phone not yet verified: only numbers proven to be the engineer's are called.
    """
    now = timezone.now()
    with transaction.atomic():
        # Locked: two quick clicks cannot both pass the limit.
        cm = (
            ContactMethod.objects.select_for_update()
            .select_related("engineer")
            .get(pk=contact_method.pk)
        )
        if cm.disabled_at is not None:
            raise ValidationError({"contact_method": [f"is disabled ({cm.disabled_reason})"]})
        if cm.needs_verification and cm.verified_at is None:
            raise ValidationError({"contact_method": ["verify this number first"]})
        recent = list(
            test_pages_of(cm)
            .filter(created_at__gt=now - timedelta(hours=1))
            .values_list("created_at", flat=True)
        )
        if recent and recent[0] + TEST_PAGE_INTERVAL > now:
            wait = _wait(recent[0] + TEST_PAGE_INTERVAL, now)
            raise TestPageRateLimited(
                f"a test page was sent less than a minute ago; try again in {wait} s",
                retry_after=wait,
            )
        if len(recent) >= TEST_PAGES_PER_HOUR:
            wait = _wait(recent[TEST_PAGES_PER_HOUR - 1] + timedelta(hours=1), now)
            raise TestPageRateLimited(
                f"{TEST_PAGES_PER_HOUR} test pages were sent in the last hour;"
                f" try again in {math.ceil(wait / 60)} min",
                retry_after=wait,
            )
        when = local_text(now, cm.engineer.time_zone)
        message = message_enqueue(
            idempotency_key=f"{KEY_PREFIX}{cm.pk}:{now.isoformat()}",
            purpose=Message.Purpose.NOTICE,
            kind=cm.kind,
            destination=cm.value,
            subject="On-call test page",
            body=f"Test page for {cm.engineer} ({when}): pages reach you here. Nothing to do.",
            engineer_id=cm.engineer_id,
            contact_method_id=cm.pk,
        )
        audit_record("test_page", cm, changes={}, note=f"message #{message.pk}")
        kick_engine()
    return message
