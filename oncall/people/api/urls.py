from django.urls import path
from rest_framework.routers import DefaultRouter

from oncall.people.api import views

router = DefaultRouter()
router.register("teams", views.TeamViewSet, basename="team")
router.register("team-memberships", views.TeamMembershipViewSet, basename="team-membership")
router.register("engineers", views.EngineerViewSet, basename="engineer")
router.register("contact-methods", views.ContactMethodViewSet, basename="contact-method")
router.register("notification-rules", views.NotificationRuleViewSet, basename="notification-rule")

urlpatterns = [
    path("me/token/", views.MeTokenView.as_view(), name="me-token"),
    *router.urls,
]
