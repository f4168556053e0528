"""/me/swaps/: ask a teammate to take one of my shifts; accept or decline what I am asked;
cancel what I asked. Each POST calls one service of ``schedules.swaps``."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from oncall.me.access import engineer_required
from oncall.me.forms import SwapForm
from oncall.me.swap_selectors import my_swaps, offerable_shifts, teammates
from oncall.people.models import Engineer
from schedules.models import Schedule, SwapRequest
from schedules.swaps import swap_accept, swap_cancel, swap_decline, swap_request

DECISIONS = {
    # action: (service, which side may take it, what the page says)
    "accept": (swap_accept, "teammate_id", "Accepted: the shifts are yours now."),
    "decline": (swap_decline, "teammate_id", "Declined: the shifts stay with them."),
    "cancel": (swap_cancel, "requester_id", "Cancelled your request."),
}


def _form(engineer: Engineer, data: object = None, shift: str = "") -> SwapForm:
    return SwapForm(
        data,
        initial={"shift": shift},
        shifts=offerable_shifts(engineer=engineer, now=timezone.now()),
        teammates=teammates(engineer=engineer),
    )


def _page(
    request: HttpRequest,
    engineer: Engineer,
    *,
    form: SwapForm | None = None,
    problem: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "engineer": engineer,
        "form": form or _form(engineer),
        "problem": problem,
        **my_swaps(engineer=engineer),
    }
    return render(request, "me/swaps.html", context, status=status)


@require_http_methods(["GET"])
@engineer_required
def swaps(request: HttpRequest, engineer: Engineer) -> HttpResponse:
    # ?shift=… (from a shift on /me/) preselects it; an unknown value selects nothing.
    return _page(request, engineer, form=_form(engineer, shift=request.GET.get("shift", "")))


@require_POST
@engineer_required
def swap_new(request: HttpRequest, engineer: Engineer) -> HttpResponse:
    form = _form(engineer, request.POST)
    if form.is_valid():
        schedule_id, start, end = form.span()
        try:
            swap = swap_request(
                schedule=Schedule.objects.get(pk=schedule_id),
                requester=engineer,
                teammate=form.cleaned_data["teammate"],
                start=start,
                end=end,
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.info(
                request,
                f"Asked {swap.teammate}: they are told through their contact method"
                " and decide on their Swaps page.",
            )
            return redirect("me:swaps")
    return _page(request, engineer, form=form, status=400)


@require_POST
@engineer_required
def swap_decide(
    request: HttpRequest, engineer: Engineer, swap_id: int, action: str
) -> HttpResponse:
    if action not in DECISIONS:
        raise Http404("no such action")
    service, side, done = DECISIONS[action]
    swap = SwapRequest.objects.select_related("schedule").filter(pk=swap_id).first()
    if swap is None or getattr(swap, side) != engineer.pk:
        raise Http404("no such swap for you to decide")
    try:
        swap = service(swap=swap, user=request.user)
    except ValidationError as exc:
        # A stale decision (already decided, or the start has passed) says so.
        reasons = "; ".join(m for ms in exc.message_dict.values() for m in ms)
        return _page(request, engineer, problem=f"Swap #{swap.pk}: {reasons}.", status=409)
    except PermissionDenied as exc:
        return _page(request, engineer, problem=str(exc), status=403)
    if swap.status == SwapRequest.Status.AWAITING:
        done = "Accepted; a team admin must approve it before the shifts change hands."
    messages.info(request, f"Swap #{swap.pk}: {done}")
    return redirect("me:swaps")
