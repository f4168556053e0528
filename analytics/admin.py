"""Admin: SLA targets and the review template; the dashboard is linked from the index."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from analytics import services
from analytics.models import DashboardLink, ReviewTemplate, SlaTarget
from analytics.review import DEFAULT_TEMPLATE
from oncall.audit.admin_mixins import DeleteEachMixin


@admin.register(SlaTarget)
class SlaTargetAdmin(DeleteEachMixin, admin.ModelAdmin):
    list_display = ("__str__", "service", "urgency", "ack_within_minutes", "resolve_within_minutes")
    list_filter = ("urgency",)
    autocomplete_fields = ("service",)

    def save_model(self, request: HttpRequest, obj: SlaTarget, form: Any, change: bool) -> None:
        services.sla_target_save(target=obj)

    def delete_model(self, request: HttpRequest, obj: SlaTarget) -> None:
        services.sla_target_delete(target=obj)


@admin.register(ReviewTemplate)
class ReviewTemplateAdmin(DeleteEachMixin, admin.ModelAdmin):
    list_display = ("name", "updated_at")

    def save_model(self, request: HttpRequest, obj: ReviewTemplate, form: Any, change: bool):
        services.review_template_save(template=obj)

    def delete_model(self, request: HttpRequest, obj: ReviewTemplate) -> None:
        services.review_template_delete(template=obj)

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
