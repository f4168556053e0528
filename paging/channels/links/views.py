"""Signed acknowledge/resolve links from e-mail and SMS.

GET only shows the incident and a button (mail scanners prefetch links); the POST of
that form (CSRF-protected) acts. A tampered link is a 400 page, an expired one a 410
page; neither changes anything.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from oncall.people.models import Engineer
from paging.channels.incident_act import action_outcome_text
from paging.channels.links.link_action import LinkEngineerGone, link_action_perform
from paging.channels.links.tokens import (
    LinkExpired,
    LinkInvalid,
    LinkTarget,
    link_max_age,
    link_read,
)
from paging.channels.page_incidents import incident_view
from paging.models import Incident


def _refuse(request: HttpRequest, status: int, title: str, text: str) -> HttpResponse:
    return render(
        request, "delivery/link_refused.html", {"title": title, "text": text}, status=status
    )


@require_http_methods(["GET", "POST"])
def link_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        target: LinkTarget = link_read(token)
    except LinkExpired:
        hours = link_max_age() // 3600
        return _refuse(
            request,
            410,
            "This link has expired",
            f"Links work for {hours} hours. Open the incident in the web interface instead.",
        )
    except LinkInvalid:
        return _refuse(
            request, 400, "This link is not valid", "It may have been cut short or altered."
        )
    incident = Incident.objects.select_related("service").filter(pk=target.incident_id).first()
    engineer = Engineer.objects.filter(pk=target.engineer_id).first()
    if incident is None or engineer is None:
        return _refuse(
            request, 410, "This link is no longer valid", "The incident or person is gone."
        )
    context = {
        "incident": incident_view(incident),
        "engineer": engineer,
        "action": target.action,
        "outcome": None,
    }
    if request.method == "POST":
        try:
            result = link_action_perform(
                incident_id=incident.pk, engineer_id=engineer.pk, action=target.action
            )
        except LinkEngineerGone:
            return _refuse(
                request, 410, "This link is no longer valid", "The person it was sent to is gone."
            )
        context["outcome"] = action_outcome_text(target.action, result)
        context["changed"] = result.changed
        context["incident"] = incident_view(result.incident)
    return render(request, "delivery/link_confirm.html", context)
