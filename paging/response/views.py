"""The public status page: HTML, JSON and an Atom feed, no login.

Everything shown comes from ``status_page_read`` (``status_page.py``), whose types
carry only public fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.feedgenerator import Atom1Feed
from django.views.decorators.http import require_GET

from paging.response.status_page import PublicIncident, status_page_json, status_page_read

# Public and identical for everyone: browsers and proxies may keep it briefly.
MAX_AGE = 30


def _public(response: HttpResponse) -> HttpResponse:
    patch_cache_control(response, public=True, max_age=MAX_AGE)
    return response


@require_GET
def status_page(request: HttpRequest) -> HttpResponse:
    page = status_page_read()
    return _public(render(request, "response/status_page.html", {"page": page}))


@require_GET
def status_json(request: HttpRequest) -> HttpResponse:
    return _public(JsonResponse(status_page_json(status_page_read())))


class StatusFeed(Feed):
    """One entry per public incident (ongoing, then the last 90 days), its public
    updates as the content; an entry's ``updated`` is its latest update."""

    feed_type = Atom1Feed
    title = "Service status"
    subtitle = "Incidents and their updates"

    def link(self) -> str:
        return reverse("status-page")

    def items(self) -> list[PublicIncident]:
        page = status_page_read()
        return page.ongoing + page.history

    def item_title(self, item: PublicIncident) -> str:
        state = "ongoing" if item.ongoing else "resolved"
        return f"{item.title} ({item.impact_label}, {state})"

    def item_description(self, item: PublicIncident) -> str:
        lines = [
            f"{u.at:%Y-%m-%d %H:%M} UTC — {u.state_label}: {u.text}" for u in item.updates
        ] or ["We are looking into it."]
        if item.groups:
            lines.append("Affected: " + ", ".join(item.groups))
        return "\n".join(lines)

    def item_link(self, item: PublicIncident) -> str:
        return f"{reverse('status-page')}#incident-{item.public_id}"

    def item_guid(self, item: PublicIncident) -> str:
        return f"status-incident-{item.public_id}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: PublicIncident) -> datetime:
        return item.started_at

    def item_updateddate(self, item: PublicIncident) -> datetime:
        return item.updates[0].at if item.updates else item.resolved_at or item.started_at

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return _public(super().__call__(request, *args, **kwargs))
