"""/me/team/: a team admin sees their team (engineers, coming shifts) and approves or
declines the swaps awaiting approval. Each POST calls one service of ``schedules.swaps``;
engineers who administer no team get a 404."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from me.access import engineer_required
from me.team_selectors import administered_team_ids, my_teams
from oncall.models import Engineer
from schedules.approvals import time_off_approve, time_off_reject
from schedules.models import SwapRequest, TimeOff
from schedules.swaps import swap_approve, swap_reject

DECISIONS = {
    "approve": (swap_approve, "Approved: the shifts change hands."),
    "decline": (swap_reject, "Declined: the shifts stay with the requester."),
}
TIME_OFF_DECISIONS = {
    "approve": (time_off_approve, "Approved: substitutes take the shifts."),
    "decline": (time_off_reject, "Declined: the shifts stay with them."),
}


def _page(
    request: HttpRequest, engineer: Engineer, problem: str = "", status: int = 200
) -> HttpResponse:
    teams = my_teams(engineer=engineer, now=timezone.now())
    if not teams:
        raise Http404("you administer no team")
    context = {"engineer": engineer, "teams": teams, "problem": problem}
    return render(request, "me/team.html", context, status=status)


@require_http_methods(["GET"])
@engineer_required
def team(request: HttpRequest, engineer: Engineer) -> HttpResponse:
    return _page(request, engineer)


@require_POST
@engineer_required
def team_swap_decide(
    request: HttpRequest, engineer: Engineer, swap_id: int, action: str
) -> HttpResponse:
    if action not in DECISIONS:
        raise Http404("no such action")
    service, done = DECISIONS[action]
    swap = (
        SwapRequest.objects.select_related("schedule")
        .filter(pk=swap_id, schedule__team_id__in=administered_team_ids(engineer=engineer))
        .first()
    )
    if swap is None:
        raise Http404("no such swap of a team you administer")
    try:
        service(swap=swap, user=request.user)
    except ValidationError as exc:
        reasons = "; ".join(m for ms in exc.message_dict.values() for m in ms)
        return _page(request, engineer, problem=f"Swap #{swap.pk}: {reasons}.", status=409)
    except PermissionDenied as exc:
        return _page(request, engineer, problem=str(exc), status=403)
    messages.info(request, f"Swap #{swap.pk}: {done}")
    return redirect("me:team")


@require_POST
@engineer_required
def team_time_off_decide(
    request: HttpRequest, engineer: Engineer, time_off_id: int, action: str
) -> HttpResponse:
    if action not in TIME_OFF_DECISIONS:
        raise Http404("no such action")
    service, done = TIME_OFF_DECISIONS[action]
    time_off = TimeOff.objects.select_related("engineer").filter(pk=time_off_id).first()
    if time_off is None:
        raise Http404("no such time off")
    try:
        service(time_off=time_off, user=request.user)
    except ValidationError as exc:
        reasons = "; ".join(m for ms in exc.message_dict.values() for m in ms)
        return _page(request, engineer, problem=f"Time off #{time_off.pk}: {reasons}.", status=409)
    except PermissionDenied:
        raise Http404("no such time off of a team you administer") from None
    messages.info(request, f"Time off #{time_off.pk}: {done}")
    return redirect("me:team")
