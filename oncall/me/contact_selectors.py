"""What /me/contact/ shows: my contact methods (state, last test page and its result)
and my notification ladders per urgency, every time in my zone."""

from __future__ import annotations

from dataclasses import dataclass

from oncall.me.forms import method_name
from oncall.people.models import ContactMethod, Engineer, NotificationRule, Urgency
from oncall.timefmt import local_text
from paging.models import Message
from paging.test_pages import test_pages_of

RESULT_TEXT = {
    Message.Status.PENDING: "queued",
    Message.Status.SENDING: "sending",
    Message.Status.SENT: "sent",
    Message.Status.DELIVERED: "delivered",
    Message.Status.FAILED: "failed",
    Message.Status.CANCELLED: "cancelled",
    Message.Status.BUNDLED: "bundled",
}


@dataclass(frozen=True)
class MethodRow:
    method: ContactMethod
    name: str
    state: str  # verified | not verified | disabled | ok
    needs_code: bool
    can_test: bool
    test_result: str  # "" when never tested


def _state(cm: ContactMethod) -> str:
    if cm.disabled_at is not None:
        return f"disabled: {cm.disabled_reason}"
    if cm.needs_verification:
        return "verified" if cm.verified_at else "not verified: not paged until verified"
    return "ready"


def _test_result(cm: ContactMethod, tz: str) -> str:
    last = test_pages_of(cm).first()
    if last is None:
        return ""
    text = f"Last test page {local_text(last.created_at, tz, seconds=True)}: "
    text += RESULT_TEXT.get(last.status, last.status)
    if last.sent_at:
        text += f" at {local_text(last.sent_at, tz, seconds=True)}"
    if last.provider_id:
        text += f" (provider id {last.provider_id})"
    if last.last_error:
        text += f" — {last.last_error[:200]}"
    return text


def my_methods(*, engineer: Engineer) -> list[MethodRow]:
    rows = []
    for cm in ContactMethod.objects.filter(engineer=engineer).order_by("kind", "pk"):
        needs_code = cm.needs_verification and cm.verified_at is None and cm.disabled_at is None
        rows.append(
            MethodRow(
                method=cm,
                name=method_name(cm),
                state=_state(cm),
                needs_code=needs_code,
                can_test=cm.is_pageable,
                test_result=_test_result(cm, engineer.time_zone),
            )
        )
    return rows


@dataclass(frozen=True)
class Rung:
    rule: NotificationRule
    text: str  # "SMS (Work mobile) after 1 min"


def my_ladders(*, engineer: Engineer) -> list[tuple[str, list[Rung]]]:
    """(urgency label, rungs by delay) for high then low urgency."""
    rules = NotificationRule.objects.filter(engineer=engineer).select_related("contact_method")
    ladders = []
    for urgency in Urgency:
        rungs = [
            Rung(
                rule=rule,
                text=f"{method_name(rule.contact_method)} "
                + (f"after {rule.delay_minutes} min" if rule.delay_minutes else "at once"),
            )
            for rule in sorted(
                (r for r in rules if r.urgency == urgency), key=lambda r: (r.delay_minutes, r.pk)
            )
        ]
        ladders.append((f"{urgency.label} urgency", rungs))
    return ladders
