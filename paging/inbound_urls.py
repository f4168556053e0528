"""Inbound endpoints called by alert sources and providers (not under /api/)."""

from django.urls import path

from paging.inbound import views

urlpatterns = [
    path(
        "integrations/alertmanager/<str:token>/",
        views.alertmanager_receive,
        name="inbound-alertmanager",
    ),
    path("integrations/webhook/<str:token>/", views.webhook_receive, name="inbound-webhook"),
    path("integrations/grafana/<str:token>/", views.grafana_receive, name="inbound-grafana"),
    path("integrations/sns/<str:token>/", views.sns_receive, name="inbound-sns"),
    path("v2/enqueue", views.pagerduty_enqueue, name="inbound-pagerduty-enqueue"),
    path(
        "v2/change/enqueue",
        views.pagerduty_change_enqueue,
        name="inbound-pagerduty-change-enqueue",
    ),
]
