from rest_framework.routers import DefaultRouter

from paging.api import views

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

urlpatterns = router.urls
