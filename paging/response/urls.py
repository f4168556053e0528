from django.urls import path
from rest_framework.routers import SimpleRouter

from paging.response import views
from paging.response.api import config_views
from paging.response.api import views as api

router = SimpleRouter()
router.register(
    "api/v1/stakeholder-subscriptions",
    config_views.StakeholderSubscriptionViewSet,
    basename="stakeholder-subscription",
)
router.register(
    "api/v1/status-page-groups", config_views.StatusPageGroupViewSet, basename="status-page-group"
)

urlpatterns = [
    path("status/", views.status_page, name="status-page"),
    path("status/json", views.status_json, name="status-json"),
    path("status/feed.atom", views.StatusFeed(), name="status-feed"),
    path(
        "api/v1/incidents/<int:pk>/roles/", api.IncidentRolesView.as_view(), name="incident-roles"
    ),
    path(
        "api/v1/incidents/<int:pk>/status-updates/",
        api.IncidentStatusUpdatesView.as_view(),
        name="incident-status-updates",
    ),
    path(
        "api/v1/incidents/<int:pk>/public/",
        api.IncidentPublicView.as_view(),
        name="incident-public",
    ),
    path(
        "api/v1/incidents/<int:pk>/action-items/",
        api.IncidentActionItemsView.as_view(),
        name="incident-action-items",
    ),
    path("api/v1/action-items/", api.ActionItemListView.as_view(), name="action-item-list"),
    path("api/v1/action-items/<int:pk>/", api.ActionItemView.as_view(), name="action-item-detail"),
    *router.urls,
]
