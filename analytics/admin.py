"""Admin: SLA targets and the review template; the dashboard is linked from the index."""

from __future__ import annotations

from django.contrib import admin

from analytics.models import ReviewTemplate, SlaTarget
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
