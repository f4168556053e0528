"""Admin: SLA targets and the review template; the dashboard is linked from the index."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from analytics.models import DashboardLink, ReviewTemplate, SlaTarget
from analytics.review import DEFAULT_TEMPLATE


@admin.register(SlaTarget)
class SlaTargetAdmin(admin.ModelAdmin):
    list_display = ("__str__", "service", "urgency", "ack_within_minutes", "resolve_within_minutes")
    list_filter = ("urgency",)
    autocomplete_fields = ("service",)


@admin.register(ReviewTemplate)
class ReviewTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "updated_at")

    def get_changeform_initial_data(self, request):  # type: ignore[no-untyped-def]
        # A new template starts as a copy of the built-in one.
        return {"name": "default", "body": DEFAULT_TEMPLATE}


@admin.register(DashboardLink)
class DashboardLinkAdmin(admin.ModelAdmin):
    """The admin index entry: its list page redirects to the dashboard."""

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, object] | None = None
    ) -> HttpResponse:
        return HttpResponseRedirect(reverse("analytics:dashboard"))
