"""Shift swaps: request, accept (-> a replace override), decline, cancel, expire.

Both sides are told through the outbox (``purpose="swap"``) on their first pageable
contact method; an engineer without one is skipped (the swap itself still happens).
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from oncall.audit.services import audit_record
from oncall.people.hooks import ContactMessage, contact_messages_send
from oncall.people.models import Engineer, TeamMembership
from oncall.people.selectors import engineer_for_user, first_pageable_method, is_team_admin
from schedules.models import Override, Schedule, SwapRequest
from schedules.services import _check_not_past, _check_span
from schedules.swap_links import swap_link_url


def _fmt(instant: datetime, schedule: Schedule) -> str:
    from zoneinfo import ZoneInfo

    return instant.astimezone(ZoneInfo(schedule.time_zone)).strftime("%a %d %b %H:%M %Z")


def _notify(swap: SwapRequest, event: str, engineer_ids: list[int], text: str) -> int:
    """Queue one message per engineer (through the outbox: paging registers the sender);
    returns how many were queued."""
    messages = []
    for engineer_id in engineer_ids:
        method = first_pageable_method(engineer_id)
        if method is None:
            continue
        messages.append(
            ContactMessage(
                idempotency_key=f"swap:{swap.pk}:{event}:{engineer_id}",
                purpose="swap",
                contact_method=method,
                subject=f"Shift swap {event}",
                body=text,
            )
        )
    if messages:
        contact_messages_send(messages)
    return len(messages)


def _span_text(swap: SwapRequest) -> str:
    return f"{_fmt(swap.start, swap.schedule)} - {_fmt(swap.end, swap.schedule)}"


def can_decide(*, swap: SwapRequest, user) -> bool:
    """The teammate asked, a team admin, or staff may accept or decline."""
    engineer = engineer_for_user(user)
    if engineer is not None and engineer.pk == swap.teammate_id:
        return True
    return is_team_admin(user, team_id=swap.schedule.team_id)


@transaction.atomic
def swap_request(
    *,
    schedule: Schedule,
    requester: Engineer,
    teammate: Engineer,
    start: datetime,
    end: datetime,
    note: str = "",
) -> SwapRequest:
    _check_span(start, end)
    _check_not_past(start)
    if requester.pk == teammate.pk:
        raise ValidationError({"teammate": "must be someone else than the requester"})
    if not TeamMembership.objects.filter(team_id=schedule.team_id, engineer=teammate).exists():
        raise ValidationError({"teammate": "is not a member of the schedule's team"})
    swap = SwapRequest.objects.create(
        schedule=schedule, requester=requester, teammate=teammate, start=start, end=end, note=note
    )
    audit_record("create", swap)
    _notify(
        swap,
        "requested",
        [teammate.pk],
        f"{requester} asks you to take their {schedule.name} shifts {_span_text(swap)}."
        + (f" Note: {note}" if note else "")
        + f" Accept or decline: {swap_link_url(swap_id=swap.pk, engineer_id=teammate.pk)}",
    )
    return swap


def _decide(
    swap: SwapRequest, user, status: str, *, was: str = SwapRequest.Status.PENDING
) -> SwapRequest:
    now = timezone.now()
    # Conditional update: two racing decisions (or the expiry tick) resolve cleanly.
    updated = SwapRequest.objects.filter(pk=swap.pk, status=was, start__gt=now).update(
        status=status, decided_by=user, decided_at=now
    )
    if not updated:
        swap.refresh_from_db()
        if swap.status == was:
            raise ValidationError(
                {"status": "the swap's start has passed; it can no longer be decided"}
            )
        raise ValidationError({"status": f"the swap is already {swap.status}"})
    swap.refresh_from_db()
    audit_record(status, swap, changes={"status": (was, status)})
    return swap


def _take_effect(swap: SwapRequest, user) -> SwapRequest:
    """The teammate takes the requester's shifts in [start, end) via an override."""
    override = Override.objects.create(
        schedule=swap.schedule,
        engineer=swap.teammate,
        replace_engineer=swap.requester,
        start=swap.start,
        end=swap.end,
        note=f"swap #{swap.pk}",
        created_by=user,
        created_at=timezone.now(),
    )
    SwapRequest.objects.filter(pk=swap.pk).update(override=override)
    swap.override = override
    audit_record("create", override, note=f"swap #{swap.pk} accepted")
    _notify(
        swap,
        "accepted",
        [swap.requester_id, swap.teammate_id],
        f"Swap accepted: {swap.teammate} takes {swap.requester}'s {swap.schedule.name}"
        f" shifts {_span_text(swap)}.",
    )
    return swap


def _team_admin_ids(schedule: Schedule) -> list[int]:
    return list(
        TeamMembership.objects.filter(
            team_id=schedule.team_id, role=TeamMembership.Role.ADMIN
        ).values_list("engineer_id", flat=True)
    )


@transaction.atomic
def swap_accept(*, swap: SwapRequest, user) -> SwapRequest:
    """Accept. Where the schedule requires approval and the one accepting is not a team
    admin, the swap waits ("awaiting") and the team admins are told; otherwise it takes
    effect at once."""
    if not can_decide(swap=swap, user=user):
        raise PermissionDenied("only the teammate asked, a team admin or staff may decide")
    if swap.schedule.swaps_need_approval and not is_team_admin(user, team_id=swap.schedule.team_id):
        swap = _decide(swap, user, SwapRequest.Status.AWAITING)
        _notify(
            swap,
            "awaiting",
            _team_admin_ids(swap.schedule),
            f"Swap to approve: {swap.teammate} would take {swap.requester}'s"
            f" {swap.schedule.name} shifts {_span_text(swap)}. Approve or decline on /me/team/.",
        )
        return swap
    return _take_effect(_decide(swap, user, SwapRequest.Status.ACCEPTED), user)


@transaction.atomic
def swap_approve(*, swap: SwapRequest, user) -> SwapRequest:
    """A team admin approves an accepted swap awaiting approval: it takes effect."""
    if not is_team_admin(user, team_id=swap.schedule.team_id):
        raise PermissionDenied("only an admin of the schedule's team or staff may approve")
    swap = _decide(swap, user, SwapRequest.Status.ACCEPTED, was=SwapRequest.Status.AWAITING)
    return _take_effect(swap, user)


def _declined(swap: SwapRequest) -> SwapRequest:
    _notify(
        swap,
        "declined",
        [swap.requester_id, swap.teammate_id],
        f"Swap declined: {swap.requester}'s {swap.schedule.name} shifts {_span_text(swap)}"
        " stay with them.",
    )
    return swap


@transaction.atomic
def swap_decline(*, swap: SwapRequest, user) -> SwapRequest:
    if not can_decide(swap=swap, user=user):
        raise PermissionDenied("only the teammate asked, a team admin or staff may decide")
    return _declined(_decide(swap, user, SwapRequest.Status.DECLINED))


@transaction.atomic
def swap_reject(*, swap: SwapRequest, user) -> SwapRequest:
    """A team admin declines a swap awaiting approval: the shifts stay with the requester."""
    if not is_team_admin(user, team_id=swap.schedule.team_id):
        raise PermissionDenied("only an admin of the schedule's team or staff may decline")
    return _declined(
        _decide(swap, user, SwapRequest.Status.DECLINED, was=SwapRequest.Status.AWAITING)
    )


@transaction.atomic
def swap_cancel(*, swap: SwapRequest, user) -> SwapRequest:
    engineer = engineer_for_user(user)
    if not user.is_staff and (engineer is None or engineer.pk != swap.requester_id):
        raise PermissionDenied("only the requester or staff may cancel a swap request")
    updated = SwapRequest.objects.filter(pk=swap.pk, status=SwapRequest.Status.PENDING).update(
        status=SwapRequest.Status.CANCELLED, decided_by=user, decided_at=timezone.now()
    )
    if not updated:
        swap.refresh_from_db()
        raise ValidationError({"status": f"the swap is already {swap.status}"})
    swap.refresh_from_db()
    audit_record("cancelled", swap, changes={"status": (SwapRequest.Status.PENDING, swap.status)})
    return swap


def swaps_expire() -> int:
    """Engine tick step: pending or awaiting requests whose start has passed expire;
    both sides told."""
    now = timezone.now()
    expired = 0
    open_ = [SwapRequest.Status.PENDING, SwapRequest.Status.AWAITING]
    rows = list(
        SwapRequest.objects.filter(status__in=open_, start__lte=now).values_list("pk", "status")[
            :200
        ]
    )
    for swap_id, was in rows:
        with transaction.atomic():
            updated = SwapRequest.objects.filter(pk=swap_id, status=was, start__lte=now).update(
                status=SwapRequest.Status.EXPIRED, decided_at=now
            )
            if not updated:
                continue
            swap = SwapRequest.objects.select_related("schedule", "requester", "teammate").get(
                pk=swap_id
            )
            audit_record("expired", swap, changes={"status": (was, "expired")})
            _notify(
                swap,
                "expired",
                [swap.requester_id, swap.teammate_id],
                f"Swap request expired undecided: {swap.requester}'s {swap.schedule.name}"
                f" shifts {_span_text(swap)} stay with them.",
            )
            expired += 1
    return expired
