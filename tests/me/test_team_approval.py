"""Swap approval: where the schedule requires it, an accepted swap awaits a team admin
(Ada), who is told and approves or declines on /me/team/; only team admins may; every
step lands in the audit trail. Engineers who administer no team get a 404 there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError

from oncall.audit.models import AuditEntry
from oncall.people.models import TeamMembership
from paging.models import Message
from schedules.models import Override, SwapRequest, TimeOff
from schedules.swaps import swap_accept, swap_approve, swap_reject, swap_request, swaps_expire
from tests.factories import ContactMethodFactory, EngineerFactory, MembershipFactory
from tests.me.conftest import Cast, signed_in

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 30, 9, tzinfo=UTC)


@pytest.fixture
def ada(cast: Cast):
    ada = EngineerFactory(user__username="ada", display_name="Ada", time_zone="Europe/Berlin")
    MembershipFactory(team=cast.schedule.team, engineer=ada, role=TeamMembership.Role.ADMIN)
    ContactMethodFactory(engineer=ada, kind="sms", value="+15551230077")
    return ada


def ask(cast: Cast, *, approval: bool = True) -> SwapRequest:
    cast.schedule.swaps_need_approval = approval
    cast.schedule.save(update_fields=["swaps_need_approval"])
    return swap_request(
        schedule=cast.schedule,
        requester=cast.lena,
        teammate=cast.marco,
        start=START,
        end=START + timedelta(days=1),
    )


def audit_actions(swap: SwapRequest) -> list[str]:
    return list(
        AuditEntry.objects.filter(object_type="schedules.swaprequest", object_id=str(swap.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )


def test_without_approval_an_accepted_swap_takes_effect_at_once(cast: Cast, ada) -> None:
    swap = swap_accept(swap=ask(cast, approval=False), user=cast.marco.user)
    assert swap.status == "accepted" and swap.override is not None
    assert not Message.objects.filter(engineer=ada).exists()


def test_with_approval_the_swap_waits_and_the_admin_is_told(cast: Cast, ada) -> None:
    swap = swap_accept(swap=ask(cast), user=cast.marco.user)
    assert swap.status == "awaiting" and swap.override is None
    assert not Override.objects.exists()
    notice = Message.objects.get(engineer=ada, purpose="swap")
    assert notice.destination == "+15551230077" and "/me/team/" in notice.body

    swap = swap_approve(swap=swap, user=ada.user)
    assert swap.status == "accepted" and swap.decided_by == ada.user
    override = Override.objects.get()
    assert (override.engineer, override.replace_engineer) == (cast.marco, cast.lena)
    assert audit_actions(swap) == ["create", "awaiting", "accepted"]
    approved = AuditEntry.objects.get(object_id=str(swap.pk), action="accepted")
    assert approved.changes["status"] == ["awaiting", "accepted"]
    with pytest.raises(ValidationError, match="already accepted"):
        swap_approve(swap=swap, user=ada.user)


def test_a_team_admin_accepting_needs_no_second_approval(cast: Cast, ada) -> None:
    swap = swap_accept(swap=ask(cast), user=ada.user)
    assert swap.status == "accepted" and swap.override is not None


def test_the_admin_declines_and_the_shifts_stay(cast: Cast, ada) -> None:
    ContactMethodFactory(engineer=cast.lena, kind="sms", value="+15551230001")
    ContactMethodFactory(engineer=cast.marco, kind="sms", value="+15551230002")
    swap = swap_accept(swap=ask(cast), user=cast.marco.user)
    swap = swap_reject(swap=swap, user=ada.user)
    assert swap.status == "declined" and not Override.objects.exists()
    assert audit_actions(swap) == ["create", "awaiting", "declined"]
    told = set(Message.objects.filter(subject="Shift swap declined").values_list("engineer_id"))
    assert told == {(cast.lena.pk,), (cast.marco.pk,)}


def test_only_team_admins_approve_or_decline(cast: Cast, ada) -> None:
    swap = swap_accept(swap=ask(cast), user=cast.marco.user)
    outsider = EngineerFactory(user__username="olga")
    for user in (cast.marco.user, cast.lena.user, outsider.user, AnonymousUser()):
        for service in (swap_approve, swap_reject):
            with pytest.raises(PermissionDenied):
                service(swap=swap, user=user)
    swap.refresh_from_db()
    assert swap.status == "awaiting"


def test_a_pending_swap_is_not_approved_before_acceptance(cast: Cast, ada) -> None:
    swap = ask(cast)
    with pytest.raises(ValidationError, match="already pending"):
        swap_approve(swap=swap, user=ada.user)


def test_an_unapproved_swap_expires_at_its_start(cast: Cast, ada, clock) -> None:
    swap = swap_accept(swap=ask(cast), user=cast.marco.user)
    clock.move_to(START + timedelta(minutes=1))
    assert swaps_expire() == 1
    swap.refresh_from_db()
    assert swap.status == "expired" and not Override.objects.exists()
    expired = AuditEntry.objects.get(object_id=str(swap.pk), action="expired")
    assert expired.changes["status"] == ["awaiting", "expired"]


# ---- views -------------------------------------------------------------------------


def test_the_team_page_approves_through_the_service(cast: Cast, ada) -> None:
    ask(cast)
    marco = signed_in(cast.marco)
    done = marco.post(f"/me/swaps/{SwapRequest.objects.get().pk}/accept/", follow=True)
    assert "a team admin must approve it" in done.content.decode()
    swap = SwapRequest.objects.get()

    page = signed_in(ada).get("/me/team/")
    body = page.content.decode()
    assert page.status_code == 200
    assert f'id="swap-{swap.pk}"' in body and "Lena → Marco" in body
    assert "Mon 30 Nov 2026, 10:00 CET → Tue 1 Dec 2026, 10:00 CET" in body  # Ada's zone
    assert "Marco" in body and "Admin" in body  # the team's engineers

    done = signed_in(ada).post(f"/me/team/swaps/{swap.pk}/approve/", follow=True)
    assert "Approved: the shifts change hands" in done.content.decode()
    swap.refresh_from_db()
    assert swap.status == "accepted" and swap.override is not None
    approved = AuditEntry.objects.get(object_id=str(swap.pk), action="accepted")
    assert approved.actor_user_id == ada.user_id  # the audit trail names the approver
    # A second decision is stale: said so, not an error page.
    again = signed_in(ada).post(f"/me/team/swaps/{swap.pk}/decline/")
    assert again.status_code == 409 and "already accepted" in again.content.decode()


def test_non_admins_get_404_and_nothing_changes(cast: Cast, ada) -> None:
    swap = swap_accept(swap=ask(cast), user=cast.marco.user)
    marco = signed_in(cast.marco)
    assert marco.get("/me/team/").status_code == 404
    assert marco.post(f"/me/team/swaps/{swap.pk}/approve/").status_code == 404
    # An admin of another team cannot reach this team's swaps either.
    other = EngineerFactory(user__username="otto")
    MembershipFactory(engineer=other, role=TeamMembership.Role.ADMIN)
    assert signed_in(other).get("/me/team/").status_code == 200
    assert signed_in(other).post(f"/me/team/swaps/{swap.pk}/approve/").status_code == 404
    swap.refresh_from_db()
    assert swap.status == "awaiting"


@pytest.mark.parametrize(
    "path, status",
    [
        ("/me/team/swaps/{pk}/explode/", 404),
        ("/me/team/swaps/999999/approve/", 404),
        ("/me/team/holidays/{pk}/approve/", 404),
        ("/me/team/swaps/abc/approve/", 404),
    ],
)
def test_bad_team_actions_are_clear(cast: Cast, ada, path: str, status: int) -> None:
    swap = swap_accept(swap=ask(cast), user=cast.marco.user)
    response = signed_in(ada).post(path.format(pk=swap.pk))
    assert response.status_code == status
    swap.refresh_from_db()
    assert swap.status == "awaiting"


def test_get_is_refused_for_decisions_and_anonymous_is_sent_to_sign_in(cast: Cast, ada) -> None:
    swap = swap_accept(swap=ask(cast), user=cast.marco.user)
    assert signed_in(ada).get(f"/me/team/swaps/{swap.pk}/approve/").status_code == 405
    from django.test import Client

    assert Client().get("/me/team/").status_code == 302


# ---- time off ----------------------------------------------------------------------


def book(cast: Cast, user, *, approval: bool = True):
    from schedules.services import time_off_create

    cast.schedule.time_off_needs_approval = approval
    cast.schedule.save(update_fields=["time_off_needs_approval"])
    return time_off_create(
        engineer=cast.lena, start=START, end=START + timedelta(days=1), user=user
    )


def on_call_at_noon(cast: Cast) -> list[int]:
    from schedules.selectors import oncall_engineer_ids

    at = datetime(2026, 11, 30, 12, tzinfo=UTC)
    return oncall_engineer_ids(schedule_id=cast.schedule.pk, at=at)


def test_time_off_without_approval_counts_at_once(cast: Cast, ada) -> None:
    entry = book(cast, cast.lena.user, approval=False)
    assert entry.status == "approved" and on_call_at_noon(cast) == [cast.marco.pk]


def test_time_off_waits_for_a_team_admin_then_counts(cast: Cast, ada) -> None:
    from schedules.approvals import time_off_approve, time_off_reject

    entry = book(cast, cast.lena.user)
    assert entry.status == "awaiting" and on_call_at_noon(cast) == [cast.lena.pk]
    for user in (cast.lena.user, cast.marco.user):
        with pytest.raises(PermissionDenied):
            time_off_approve(time_off=entry, user=user)
    time_off_approve(time_off=entry, user=ada.user)
    assert on_call_at_noon(cast) == [cast.marco.pk]
    with pytest.raises(ValidationError, match="already approved"):
        time_off_reject(time_off=entry, user=ada.user)
    actions = AuditEntry.objects.filter(
        object_type="schedules.timeoff", object_id=str(entry.pk)
    ).values_list("action", flat=True)
    assert list(actions.order_by("seq")) == ["create", "approved"]


def test_time_off_booked_by_an_admin_or_the_system_needs_no_approval(cast: Cast, ada) -> None:
    assert book(cast, ada.user).status == "approved"
    from schedules.services import time_off_create

    system = time_off_create(
        engineer=cast.marco, start=START + timedelta(days=2), end=START + timedelta(days=3)
    )
    assert system.status == "approved"


def test_time_off_on_the_team_page_declined(cast: Cast, ada) -> None:
    lena = signed_in(cast.lena)
    cast.schedule.time_off_needs_approval = True
    cast.schedule.save(update_fields=["time_off_needs_approval"])
    response = lena.post(
        "/me/time-off/new/",
        {"start": "2026-11-30T10:00", "end": "2026-12-01T10:00", "kind": "vacation"},
    )
    assert response.status_code == 302
    entry = TimeOff.objects.get()
    assert entry.status == "awaiting"  # booked through /me/, by Lena herself
    assert "Until a team admin approves it" in lena.get("/me/time-off/").content.decode()
    assert signed_in(cast.marco).post(f"/me/team/time-off/{entry.pk}/approve/").status_code == 404
    body = signed_in(ada).get("/me/team/").content.decode()
    assert f'id="time-off-{entry.pk}"' in body
    done = signed_in(ada).post(f"/me/team/time-off/{entry.pk}/decline/", follow=True)
    assert "Declined: the shifts stay with them" in done.content.decode()
    entry.refresh_from_db()
    assert entry.status == "declined" and on_call_at_noon(cast) == [cast.lena.pk]
    bad = signed_in(ada).post(f"/me/team/time-off/{entry.pk}/explode/")
    assert bad.status_code == 404
    again = signed_in(ada).post(f"/me/team/time-off/{entry.pk}/approve/")
    assert again.status_code == 409 and "already declined" in again.content.decode()
