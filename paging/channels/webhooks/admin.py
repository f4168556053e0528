"""Admin of outgoing webhooks: written through ``webhook_endpoint_save`` (checked,
audited); the secret is typed in and shown masked. Deliveries are read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from oncall.security.secrets import secret_mask
from paging.channels.webhooks.models import EVENTS, WebhookDelivery, WebhookEndpoint
from paging.channels.webhooks.services import (
    webhook_endpoint_delete,
    webhook_endpoint_problems,
    webhook_endpoint_save,
)


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(
        label="URL",
        max_length=1024,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"class": "vURLField"}),
    )
    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="HMAC-SHA256 key of X-Oncall-Signature, at least 16 characters. "
        "Leave empty to keep the current one.",
    )
    events = forms.MultipleChoiceField(
        choices=[(e, e) for e in EVENTS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "service", "url", "secret", "enabled", "events"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        values = {name: data.get(name) for name in self.Meta.fields}
        values["events"] = list(data.get("events") or [])
        if not values["secret"] and self.instance.pk:
            values["secret"] = self.instance.secret
        for field, problem in webhook_endpoint_problems(values).items():
            if field in self.fields and field not in self.errors:
                self.add_error(field, problem)
        return data


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["name", "service_or_all", "url", "enabled", "events_shown", "secret_hint"]
    list_filter = ["enabled"]
    search_fields = ["name", "url"]
    readonly_fields = ["secret_hint", "enabled_at", "created_at", "updated_at"]
    fields = [
        "name",
        "service",
        "url",
        "secret",
        "secret_hint",
        "enabled",
        "events",
        "enabled_at",
        "created_at",
        "updated_at",
    ]

    @admin.display(description="service")
    def service_or_all(self, obj: WebhookEndpoint) -> str:
        return obj.service.name if obj.service_id else "every service"

    @admin.display(description="events")
    def events_shown(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.events) or "all"

    @admin.display(description="current secret")
    def secret_hint(self, obj: WebhookEndpoint) -> str:
        return secret_mask(obj.secret)

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool
    ) -> None:
        data = form.cleaned_data
        fields = {name: data.get(name) for name in ("name", "service", "url", "enabled")}
        fields["events"] = list(data.get("events") or [])
        if data.get("secret"):
            fields["secret"] = data["secret"]
        # The form changed ``obj`` in memory: save from the row as stored.
        stored = WebhookEndpoint.objects.get(pk=obj.pk) if obj.pk else None
        obj.pk = webhook_endpoint_save(endpoint=stored, fields=fields).pk

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        webhook_endpoint_delete(endpoint=obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for endpoint in queryset:
            webhook_endpoint_delete(endpoint=endpoint)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "delivery_id",
        "event",
        "incident",
        "endpoint",
        "status",
        "attempts",
        "created_at",
    ]
    list_filter = ["event", "endpoint"]
    search_fields = ["delivery_id", "incident__id"]
    raw_id_fields = ["incident", "message"]
    list_select_related = ["endpoint", "message"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="status")
    def status(self, obj: WebhookDelivery) -> str:
        message = obj.message
        return f"{message.status}" + (f": {message.last_error}" if message.last_error else "")

    @admin.display(description="attempts")
    def attempts(self, obj: WebhookDelivery) -> int:
        return obj.message.attempts
