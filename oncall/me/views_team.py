"""/me/team/: a team admin sees their team (engineers, coming shifts) and approves or
declines the swaps and time off awaiting approval. Each POST calls one service of
``schedules.swaps`` or ``schedules.approvals``; engineers who administer no team, and
admins reaching another team's requests, get a 404."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from oncall.me.access import engineer_required
from oncall.me.team_selectors import my_teams
from oncall.people.models import Engineer
from schedules.approvals import time_off_approve, time_off_reject
from schedules.models import SwapRequest, TimeOff
from schedules.swaps import swap_approve, swap_reject

# kind in the URL: (model, noun, {action: (service, what the page says)})
DECISIONS = {
    "swaps": (
        SwapRequest,
        "Swap",
        {
            "approve": (swap_approve, "Approved: the shifts change hands."),
            "decline": (swap_reject, "Declined: the shifts stay with the requester."),
        },
    ),
    "time-off": (
        TimeOff,
        "Time off",
        {
            "approve": (time_off_approve, "Approved: substitutes take the shifts."),
            "decline": (time_off_reject, "Declined: the shifts stay with them."),
        },
    ),
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
def team_decide(
    request: HttpRequest, engineer: Engineer, kind: str, object_id: int, action: str
) -> HttpResponse:
    if kind not in DECISIONS or action not in DECISIONS[kind][2]:
        raise Http404("no such action")
    model, noun, actions = DECISIONS[kind]
    service, done = actions[action]
    obj = model.objects.filter(pk=object_id).first()
    if obj is None:
        raise Http404(f"no such {noun.lower()}")
    try:
        service(**{"swap" if model is SwapRequest else "time_off": obj, "user": request.user})
    except ValidationError as exc:
        reasons = "; ".join(m for ms in exc.message_dict.values() for m in ms)
        return _page(request, engineer, problem=f"{noun} #{obj.pk}: {reasons}.", status=409)
    except PermissionDenied:
        # Not of a team I administer: as if it did not exist.
        raise Http404(f"no such {noun.lower()} of a team you administer") from None
    messages.info(request, f"{noun} #{obj.pk}: {done}")
    return redirect("me:team")
