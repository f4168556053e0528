"""/me/time-off/: book time off (read in my zone), see who substitutes, cancel it.
Each POST calls one service of ``schedules.services``."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from oncall.me.access import engineer_required
from oncall.me.forms import TimeOffForm, errors_onto
from oncall.me.time_off_selectors import my_time_off
from oncall.people.models import Engineer
from oncall.timefmt import local_text
from schedules.models import TimeOff
from schedules.services import time_off_create, time_off_delete


def _page(
    request: HttpRequest, engineer: Engineer, form: TimeOffForm | None = None, status: int = 200
) -> HttpResponse:
    context = {
        "engineer": engineer,
        "form": form or TimeOffForm(zone=engineer.time_zone),
        "entries": my_time_off(engineer=engineer, now=timezone.now()),
    }
    return render(request, "me/time_off.html", context, status=status)


@require_http_methods(["GET"])
@engineer_required
def time_off(request: HttpRequest, engineer: Engineer) -> HttpResponse:
    return _page(request, engineer)


@require_POST
@engineer_required
def time_off_new(request: HttpRequest, engineer: Engineer) -> HttpResponse:
    form = TimeOffForm(request.POST, zone=engineer.time_zone)
    if form.is_valid():
        try:
            entry = time_off_create(engineer=engineer, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            errors_onto(form, exc)
        else:
            span = local_text(entry.start, engineer.time_zone)
            messages.info(request, f"Time off from {span} booked; see who substitutes below.")
            return redirect("me:time-off")
    return _page(request, engineer, form, status=400)


@require_http_methods(["GET", "POST"])
@engineer_required
def time_off_cancel(request: HttpRequest, engineer: Engineer, time_off_id: int) -> HttpResponse:
    """GET asks once; the POST deletes coming time off, or ends running time off now."""
    entry = TimeOff.objects.filter(pk=time_off_id, engineer=engineer).first()
    if entry is None:
        raise Http404("no such time off of yours")
    if request.method == "GET":
        span = (
            f"{local_text(entry.start, engineer.time_zone)} → "
            f"{local_text(entry.end, engineer.time_zone)}"
        )
        return render(request, "me/time_off_cancel.html", {"entry": entry, "span": span})
    left = time_off_delete(time_off=entry)
    messages.info(request, "Time off cancelled." if left is None else "Time off ended now.")
    return redirect("me:time-off")
