"""The signed link in a swap notice (/me/swaps/l/<token>/): GET shows the request (mail
scanners prefetch links), the CSRF-protected POST of its form accepts or declines as the
teammate it was sent to. A tampered link is a 400 page, an expired one 410."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from oncall.audit.actors import audit_actor
from oncall.audit.models import AuditEntry
from oncall.people.models import Engineer
from oncall.timefmt import local_text
from paging.channels.links.tokens import link_max_age
from schedules.models import SwapRequest
from schedules.swap_links import LinkExpired, LinkInvalid, swap_link_read
from schedules.swaps import swap_accept, swap_decline

SERVICES = {"accept": swap_accept, "decline": swap_decline}


def _refuse(request: HttpRequest, status: int, title: str, text: str) -> HttpResponse:
    return render(request, "me/link_refused.html", {"title": title, "text": text}, status=status)


@require_http_methods(["GET", "POST"])
def swap_link(request: HttpRequest, token: str) -> HttpResponse:
    try:
        swap_id, engineer_id = swap_link_read(token)
    except LinkExpired:
        hours = link_max_age() // 3600
        return _refuse(
            request, 410, "This link has expired", f"Links work for {hours} hours: sign in instead."
        )
    except LinkInvalid:
        return _refuse(request, 400, "This link is not valid", "It may have been cut short.")
    swap = (
        SwapRequest.objects.select_related("schedule", "requester", "teammate")
        .filter(pk=swap_id, teammate_id=engineer_id)
        .first()
    )
    engineer = Engineer.objects.select_related("user").filter(pk=engineer_id).first()
    if swap is None or engineer is None:
        return _refuse(request, 410, "This link is no longer valid", "The swap or person is gone.")
    status, outcome = 200, ""
    if request.method == "POST":
        service = SERVICES.get(request.POST.get("action", ""))
        if service is None:
            return _refuse(request, 400, "Not understood", "action: must be accept or decline.")
        # The link is the teammate's credential: the audit trail names them, via the link.
        label = f"{engineer.username} via signed link"
        try:
            with audit_actor(AuditEntry.ActorKind.PROVIDER, label, engineer.user_id):
                swap = service(swap=swap, user=engineer.user)
        except ValidationError as exc:
            status = 409
            outcome = "; ".join(m for ms in exc.message_dict.values() for m in ms).capitalize()
        else:
            outcome = f"Swap {swap.get_status_display().lower()}."
    tz = engineer.time_zone
    context = {
        "swap": swap,
        "engineer": engineer,
        "span": f"{local_text(swap.start, tz)} → {local_text(swap.end, tz)}",
        "outcome": outcome,
    }
    return render(request, "me/swap_link.html", context, status=status)
