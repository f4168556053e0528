"""Reads of the people directory."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet

from oncall.channel_registry import kinds_verified_before_paging
from oncall.people.models import ContactMethod, Engineer, NotificationRule, TeamMembership, Urgency


def pageable() -> Q:
    """Same test as ``ContactMethod.is_pageable``, as a query (the kinds verified before
    paging are the channels', registered at start-up)."""
    return Q(disabled_at__isnull=True) & (
        ~Q(kind__in=kinds_verified_before_paging()) | Q(verified_at__isnull=False)
    )


def _engineer_id(engineer: Engineer | int) -> int:
    return engineer if isinstance(engineer, int) else engineer.pk


def pageable_contact_methods(engineer: Engineer | int) -> QuerySet[ContactMethod]:
    """The engineer's methods the engine may page: enabled, and verified if a phone."""
    return ContactMethod.objects.filter(pageable(), engineer_id=_engineer_id(engineer))


def pageable_notification_rules(
    engineer: Engineer | int, *, urgency: str = Urgency.HIGH
) -> QuerySet[NotificationRule]:
    """The engineer's rules for ``urgency`` whose method is pageable, by delay.

    Rules on unverified phones or disabled methods are skipped, not failed.
    """
    pageable_ids = pageable_contact_methods(engineer).values("pk")
    return (
        NotificationRule.objects.filter(
            engineer_id=_engineer_id(engineer),
            urgency=urgency,
            contact_method_id__in=pageable_ids,
        )
        .select_related("contact_method")
        .order_by("delay_minutes", "pk")
    )


def engineer_for_user(user: object) -> Engineer | None:
    """The engineer profile of a Django user, or None (anonymous, or a user without one)."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.engineer  # type: ignore[attr-defined]
    except Engineer.DoesNotExist:
        return None


def engineer_id_for_user(user: object) -> int | None:
    engineer = engineer_for_user(user)
    return engineer.pk if engineer is not None else None


def admin_team_ids(*, user_id: int | None) -> QuerySet[TeamMembership, int]:
    """Ids of the teams the user (through their engineer) is an admin of: a subquery,
    or ``set(...)`` it."""
    if user_id is None:  # no user (anonymous): admin of nothing, not of user-less engineers
        return TeamMembership.objects.none().values_list("team_id", flat=True)
    return TeamMembership.objects.filter(
        engineer__user_id=user_id, role=TeamMembership.Role.ADMIN
    ).values_list("team_id", flat=True)


def is_team_admin(user: Any, *, team_id: int) -> bool:
    """Staff, or an admin of team ``team_id``: who may change the team's schedules and
    decide its engineers' swaps and time off."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff:
        return True
    return admin_team_ids(user_id=user.pk).filter(team_id=team_id).exists()


def engineers_list(*, team_id: int | None = None) -> QuerySet[Engineer]:
    qs = Engineer.objects.select_related("user").prefetch_related("memberships__team")
    if team_id is not None:
        qs = qs.filter(memberships__team_id=team_id)
    return qs


def engineer_emails(engineer_ids: Iterable[int]) -> dict[int, str]:
    """An e-mail address per engineer (for calendar ATTENDEEs): the account's, else
    their first e-mail contact method; engineers with neither are left out."""
    ids = set(engineer_ids)
    out = {
        eid: email
        for eid, email in Engineer.objects.filter(pk__in=ids).values_list("pk", "user__email")
        if email
    }
    for eid, value in (
        ContactMethod.objects.filter(engineer_id__in=ids - out.keys(), kind="email")
        .order_by("engineer_id", "pk")
        .values_list("engineer_id", "value")
    ):
        out.setdefault(eid, value)
    return out


def first_pageable_method(engineer_id: int) -> ContactMethod | None:
    """The engineer's oldest contact method that can be paged now (for notices and
    reminders, which follow no notification rule), or None."""
    for method in ContactMethod.objects.filter(engineer_id=engineer_id).order_by("id"):
        if method.is_pageable:
            return method
    return None


def secrets_visible(user: Any, *, team_id: int | None, cache: Any = None) -> bool:
    """May ``user`` read the full secrets of an object of team ``team_id``? ``cache``
    (e.g. the request) keeps the user's admin teams for the next call."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff:
        return True
    if team_id is None:
        return False
    teams = getattr(cache, "_oncall_admin_team_ids", None)
    if teams is None:
        teams = set(admin_team_ids(user_id=user.pk))
        if cache is not None:
            cache._oncall_admin_team_ids = teams
    return team_id in teams
