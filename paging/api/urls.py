from django.urls import path
from rest_framework.routers import DefaultRouter

from paging.api import rules, views
from paging.channels.webhooks.api import WebhookEndpointViewSet

router = DefaultRouter()
router.register("services", views.ServiceViewSet, basename="service")
router.register(
    "maintenance-windows", views.MaintenanceWindowViewSet, basename="maintenance-window"
)
router.register("integrations", views.IntegrationViewSet, basename="integration")
router.register("escalation-policies", views.EscalationPolicyViewSet, basename="escalation-policy")
router.register("priority-levels", views.PriorityLevelViewSet, basename="priority-level")
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register("messages", views.MessageViewSet, basename="message")
router.register("change-events", views.ChangeEventViewSet, basename="change-event")
router.register("inhibit-rules", rules.InhibitRuleViewSet, basename="inhibit-rule")
router.register("webhooks", WebhookEndpointViewSet, basename="webhook")

urlpatterns = [
    path(
        "integrations/<int:pk>/rules/",
        rules.IntegrationRulesView.as_view(),
        name="integration-rules",
    ),
    path(
        "integrations/<int:pk>/rules/test/",
        rules.IntegrationRulesTestView.as_view(),
        name="integration-rules-test",
    ),
    *router.urls,
]
