from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from oncall.api_root import api_root
from oncall.health import healthz

# A database error outside a view is a 503 too (oncall/db_unavailable.py).
handler500 = "oncall.db_unavailable.server_error"

# Each app owns its own URL module; features add their routes there.
urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: no inline script for the CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", api_root, name="api-root"),
    path("api/v1/", include("oncall.people.api.urls")),
    path("api/v1/", include("schedules.api.urls")),
    path("api/v1/", include("paging.api.urls")),
    path("api/v1/", include("oncall.audit.urls")),
    path("", include("paging.inbound_urls")),
    path("", include("schedules.feed_urls")),
    path("", include("paging.channels.urls")),
    path("", include("analytics.urls")),
    path("", include("paging.response.urls")),  # /status/ and the incident response API
    path("api-auth/", include("rest_framework.urls")),
    path("me/", include("oncall.me.urls")),
]
