from django.urls import URLPattern, URLResolver, path, re_path

from analytics import views
from analytics.api import views as api

app_name = "analytics"

urlpatterns: list[URLPattern | URLResolver] = [
    path("metrics", views.prometheus_metrics, name="prometheus"),
    path("analytics/", views.dashboard, name="dashboard"),
    path("api/v1/analytics/response-times", api.ResponseTimesView.as_view(), name="response-times"),
    path(
        "api/v1/analytics/escalation-rate", api.EscalationRateView.as_view(), name="escalation-rate"
    ),
    path(
        "api/v1/analytics/time-to-first-page",
        api.TimeToFirstPageView.as_view(),
        name="time-to-first-page",
    ),
    path("api/v1/analytics/delivery", api.DeliveryView.as_view(), name="delivery"),
    path("api/v1/analytics/sla", api.SlaView.as_view(), name="sla"),
    path(
        "api/v1/analytics/sla-by-priority",
        api.SlaByPriorityView.as_view(),
        name="sla-by-priority",
    ),
    path("api/v1/analytics/alert-quality", api.AlertQualityView.as_view(), name="alert-quality"),
    path("api/v1/analytics/oncall-load", api.OncallLoadView.as_view(), name="oncall-load"),
    # Not under paging's router: its incident routes all end in "/", so no clash.
    re_path(
        r"^api/v1/incidents/(?P<pk>[^/]+)/review/?$",
        api.IncidentReviewView.as_view(),
        name="incident-review",
    ),
]
