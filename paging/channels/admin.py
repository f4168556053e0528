"""Read-only admin views of what the bridges remember (for finding out why)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from paging.channels.pagerduty.models import PagerDutyForward, PagerDutyWebhookDelivery
from paging.channels.slack.models import SlackPost


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(SlackPost)
class SlackPostAdmin(ReadOnlyAdmin):
    list_display = ["incident", "kind", "channel", "ts", "posted_at", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["channel", "ts", "incident__id"]
    raw_id_fields = ["incident", "message"]


@admin.register(PagerDutyForward)
class PagerDutyForwardAdmin(ReadOnlyAdmin):
    list_display = ["incident", "dedup_key", "last_action", "triggered_at", "updated_at"]
    list_filter = ["last_action"]
    search_fields = ["dedup_key", "incident__id"]
    raw_id_fields = ["incident"]
    exclude = ["routing_key"]  # a credential of the PagerDuty service


@admin.register(PagerDutyWebhookDelivery)
class PagerDutyWebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["webhook_id", "event_type", "incident", "outcome", "received_at"]
    list_filter = ["event_type"]
    search_fields = ["webhook_id"]
    raw_id_fields = ["incident"]
