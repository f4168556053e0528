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
    path("v2/enqueue", views.pagerduty_enqueue, name="inbound-pagerduty-enqueue"),
]
