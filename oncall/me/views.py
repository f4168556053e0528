"""/me/: my on-call, my incidents' buttons, my calendar feed. Thin: each POST calls one
service function; what the page shows is read in ``oncall.me.selectors``."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from oncall.me import selectors
from oncall.me.access import engineer_required
from oncall.me.team_selectors import awaiting_approval
from oncall.people.models import Engineer
from oncall.timefmt import local_text
from paging.channels.incident_act import action_outcome_text
from paging.incident_actions import ResolutionInvalid, incident_acknowledge, incident_resolve
from paging.models.incidents import RESOLUTIONS
from schedules.feeds import feed_token_revoke, feed_token_rotate, feed_url

FEED_ACTIONS = {"create", "rotate", "revoke"}


def _home_context(engineer: Engineer) -> dict:
    now = timezone.now()
    rows = selectors.my_shifts(engineer=engineer, now=now)
    return {
        "engineer": engineer,
        "now_text": local_text(now, engineer.time_zone),
        "current": selectors.on_call_now(rows, now),
        "shifts": [row for row in rows if row.start > now],
        "incidents": [
            (incident, local_text(incident.created_at, engineer.time_zone))
            for incident in selectors.my_open_incidents(engineer=engineer)
        ],
        "feed_active": selectors.my_feed_active(engineer=engineer),
        "team_awaiting": awaiting_approval(engineer=engineer),
    }


@require_http_methods(["GET"])
@engineer_required
def home(request: HttpRequest, engineer: Engineer) -> HttpResponse:
    return render(request, "me/home.html", _home_context(engineer))


def _outcome(action: str, engineer: Engineer, result) -> str:  # noqa: ANN001 - ActionResult
    text = action_outcome_text(action, result)
    if result.changed:
        at = result.incident.acknowledged_at if action == "acknowledge" else None
        at = at or result.incident.resolved_at or timezone.now()
        text = f"{text[:-1]} by {engineer} at {local_text(at, engineer.time_zone, seconds=True)}."
    return text


@require_POST
@engineer_required
def incident_acknowledge_view(
    request: HttpRequest, engineer: Engineer, incident_id: int
) -> HttpResponse:
    if selectors.my_incident(engineer=engineer, incident_id=incident_id) is None:
        raise Http404("no such incident assigned to you")
    result = incident_acknowledge(incident_id=incident_id, engineer_id=engineer.pk, via="web")
    messages.info(request, _outcome("acknowledge", engineer, result))
    return redirect("me:home")


@require_http_methods(["GET", "POST"])
@engineer_required
def incident_resolve_view(
    request: HttpRequest, engineer: Engineer, incident_id: int
) -> HttpResponse:
    """GET asks once (resolving cannot be undone); the POST resolves."""
    incident = selectors.my_incident(engineer=engineer, incident_id=incident_id)
    if incident is None:
        raise Http404("no such incident assigned to you")
    if request.method == "GET":
        return render(
            request, "me/resolve_confirm.html", {"incident": incident, "resolutions": RESOLUTIONS}
        )
    resolution = request.POST.get("resolution") or None
    try:
        result = incident_resolve(
            incident_id=incident_id, engineer_id=engineer.pk, via="web", resolution=resolution
        )
    except ResolutionInvalid as exc:
        return render(
            request, "me/bad_request.html", {"field": "resolution", "reason": exc}, status=400
        )
    messages.info(request, _outcome("resolve", engineer, result))
    return redirect("me:home")


@require_http_methods(["GET", "POST"])
@engineer_required
def calendar(request: HttpRequest, engineer: Engineer) -> HttpResponse:
    """Feed token: GET asks once before a rotate or revoke (the old address stops
    working); the POST acts. A new address is shown once, on the answer to the POST:
    only its hash is stored."""
    source = request.POST if request.method == "POST" else request.GET
    action = source.get("action", "")
    if action not in FEED_ACTIONS:
        return render(
            request,
            "me/bad_request.html",
            {"field": "action", "reason": "must be create, rotate or revoke"},
            status=400,
        )
    if request.method == "GET":
        return render(request, "me/calendar_confirm.html", {"action": action})
    if action == "revoke":
        revoked = feed_token_revoke(engineer=engineer)
        messages.info(
            request,
            "Calendar address revoked: calendar apps can no longer read it."
            if revoked
            else "There was no calendar address to revoke.",
        )
        return redirect("me:home")
    token, _row = feed_token_rotate(engineer=engineer)
    https_url = feed_url(token)
    context = _home_context(engineer)
    context["new_feed"] = {
        "https": https_url,
        "webcal": "webcal://" + https_url.split("://", 1)[1],
    }
    return render(request, "me/home.html", context)
