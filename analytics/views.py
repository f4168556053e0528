"""The server-rendered dashboard and the Prometheus endpoint."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from rest_framework.exceptions import ValidationError

from analytics.api.params import metric_params
from analytics.dashboard import dashboard_context
from analytics.db import analytics_session
from analytics.prometheus import exposition

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@require_GET
@login_required(login_url="admin:login")
def dashboard(request: HttpRequest) -> HttpResponse:
    query = request.GET.copy()
    query.setdefault("days", "30")
    query.setdefault("by", "day")
    # The admin's header, navigation and theme around the page.
    page = {**admin.site.each_context(request), "title": "Incident analytics"}
    try:
        flt, by = metric_params(query)
    except ValidationError as exc:
        return render(
            request, "analytics/dashboard.html", {**page, "errors": exc.detail}, status=400
        )
    if by not in ("day", "week", "month"):
        by = "day"
    with analytics_session():
        context = dashboard_context(flt=flt, bucket=by)
    return render(request, "analytics/dashboard.html", {**page, **context})


@require_GET
def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    """Open unless ANALYTICS_METRICS_TOKEN is set; then ``Authorization: Bearer <token>``."""
    token = settings.ANALYTICS_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return HttpResponse("unauthorized\n", status=401, content_type="text/plain")
    with analytics_session():
        text = exposition()
    return HttpResponse(text, content_type=PROMETHEUS_CONTENT_TYPE)
