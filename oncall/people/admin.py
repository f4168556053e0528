"""Admin for the people directory: where a team lead manages people without code.

Saves go through the services (``oncall.people.services``), as do the actions, so the admin
applies the same rules as the API: a changed phone number must be verified again,
a rule only uses its own engineer's contact methods, codes are rate limited.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from django.db.models import Count, Model, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils import timezone

from oncall.api.params import id_or_none
from oncall.audit.admin_mixins import DeleteEachMixin
from oncall.people import services
from oncall.people.models import (
    ContactMethod,
    Engineer,
    NotificationRule,
    Team,
    TeamMembership,
    VerificationCode,
)

TIME_ZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones())]


def _adopt(obj: Model, created: Model) -> None:
    """Make the admin's unsaved ``obj`` the row a service created (for redirects, inlines)."""
    obj.pk = created.pk
    obj.refresh_from_db()


# --- inline saves through services ---------------------------------------------


def _save_contact_methods(formset: BaseInlineFormSet) -> None:
    for obj in formset.deleted_objects:
        services.contact_method_delete(contact_method=obj)
    for obj, _changed in formset.changed_objects:
        current = ContactMethod.objects.get(pk=obj.pk)
        services.contact_method_update(contact_method=current, value=obj.value, label=obj.label)
    for obj in formset.new_objects:
        created = services.contact_method_create(
            engineer=obj.engineer, kind=obj.kind, value=obj.value, label=obj.label
        )
        _adopt(obj, created)


def _save_rules(formset: BaseInlineFormSet) -> None:
    for obj in formset.deleted_objects:
        services.notification_rule_delete(rule=obj)
    for obj, _changed in formset.changed_objects:
        services.notification_rule_update(
            rule=NotificationRule.objects.get(pk=obj.pk),
            contact_method=obj.contact_method,
            delay_minutes=obj.delay_minutes,
            urgency=obj.urgency,
        )
    for obj in formset.new_objects:
        created = services.notification_rule_create(
            engineer=obj.engineer,
            contact_method=obj.contact_method,
            delay_minutes=obj.delay_minutes,
            urgency=obj.urgency,
        )
        _adopt(obj, created)


def _save_memberships(formset: BaseInlineFormSet) -> None:
    for obj in formset.deleted_objects:
        services.team_membership_remove(team=obj.team, engineer=obj.engineer)
    for obj, _changed in formset.changed_objects:
        before = TeamMembership.objects.select_related("team", "engineer").get(pk=obj.pk)
        if (before.team_id, before.engineer_id) != (obj.team_id, obj.engineer_id):
            services.team_membership_remove(team=before.team, engineer=before.engineer)
        services.team_membership_set(team=obj.team, engineer=obj.engineer, role=obj.role)
    for obj in formset.new_objects:
        created = services.team_membership_set(team=obj.team, engineer=obj.engineer, role=obj.role)
        _adopt(obj, created)


_INLINE_SAVERS: dict[type[Model], Callable[[BaseInlineFormSet], None]] = {
    ContactMethod: _save_contact_methods,
    NotificationRule: _save_rules,
    TeamMembership: _save_memberships,
}


class ServiceInlinesMixin:
    def save_formset(
        self, request: HttpRequest, form: forms.ModelForm, formset: BaseInlineFormSet, change: bool
    ) -> None:
        # Every inline saves through its model's services: one without a saver is a bug.
        saver = _INLINE_SAVERS[formset.model]
        formset.save(commit=False)
        saver(formset)


# --- teams -------------------------------------------------------------------------


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0
    autocomplete_fields = ["engineer"]
    fields = ["engineer", "role"]


class EngineerMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0
    fields = ["team", "role"]
    verbose_name = "team"
    verbose_name_plural = "teams"


@admin.register(Team)
class TeamAdmin(DeleteEachMixin, ServiceInlinesMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "member_count", "created_at"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [TeamMembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return super().get_queryset(request).annotate(_members=Count("memberships"))

    @admin.display(description="members", ordering="_members")
    def member_count(self, obj: Team) -> int:
        return obj._members  # type: ignore[attr-defined]

    def save_model(self, request: HttpRequest, obj: Team, form: forms.ModelForm, change: bool):
        if change:
            services.team_update(
                team=Team.objects.get(pk=obj.pk),
                name=obj.name,
                slug=obj.slug,
                description=obj.description,
            )
            obj.refresh_from_db()
        else:
            created = services.team_create(
                name=obj.name, slug=obj.slug, description=obj.description
            )
            _adopt(obj, created)

    def delete_model(self, request: HttpRequest, obj: Team) -> None:
        services.team_delete(team=obj)


# --- engineers ----------------------------------------------------------------------


class ContactMethodInlineForm(forms.ModelForm):
    class Meta:
        model = ContactMethod
        fields = ["kind", "value", "label"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        # On a change page the kind is read-only, so it comes from the instance.
        kind, value = data.get("kind") or self.instance.kind, data.get("value")
        if kind and value:
            # Tidy before the model validates it, as the service does.
            data["value"] = services.contact_value_normalize(kind=kind, value=value)
            self.instance.value = data["value"]
        if self.instance.pk and kind != ContactMethod.objects.get(pk=self.instance.pk).kind:
            self.add_error("kind", "cannot be changed; add a new contact method instead")
        return data


class ContactMethodInline(admin.TabularInline):
    model = ContactMethod
    form = ContactMethodInlineForm
    extra = 0
    fields = ["kind", "value", "label", "verified_at", "disabled_at", "disabled_reason"]
    readonly_fields = ["verified_at", "disabled_at", "disabled_reason"]
    show_change_link = True


class NotificationRuleInline(admin.TabularInline):
    model = NotificationRule
    extra = 0
    fields = ["urgency", "delay_minutes", "contact_method"]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any):
        if db_field.name == "contact_method":
            # Only this engineer's methods can be chosen.
            engineer_id = request.resolver_match.kwargs.get("object_id") if request else None
            kwargs["queryset"] = ContactMethod.objects.filter(engineer_id=engineer_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class EngineerAddForm(forms.ModelForm):
    """Creates the Django user and the engineer together."""

    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput,
        help_text="Leave empty for an account without a password (API token only).",
    )
    is_staff = forms.BooleanField(required=False, help_text="May use this admin.")
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES, initial="UTC")
    display_name = forms.CharField(
        max_length=150, required=False, help_text="Defaults to the full name."
    )

    class Meta:
        model = Engineer
        fields = ["display_name", "time_zone"]

    def clean_username(self) -> str:
        from django.contrib.auth import get_user_model

        username = self.cleaned_data["username"].strip()
        if get_user_model().objects.filter(username=username).exists():
            raise ValidationError("a user with that username already exists")
        return username


class EngineerChangeForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES)

    class Meta:
        model = Engineer
        fields = ["display_name", "time_zone"]


class TeamListFilter(admin.SimpleListFilter):
    title = "team"
    parameter_name = "team"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(t.pk), t.name) for t in Team.objects.order_by("name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value():
            team_id = id_or_none(self.value())
            if team_id is None:
                # Django's own filters answer a bad value the same way (?e=1, no 500).
                raise IncorrectLookupParameters(f"team: {self.value()[:40]!r} is not a team id")
            return queryset.filter(memberships__team_id=team_id).distinct()
        return queryset


@admin.register(Engineer)
class EngineerAdmin(DeleteEachMixin, ServiceInlinesMixin, admin.ModelAdmin):
    list_display = ["display_name", "username", "email", "time_zone", "team_names"]
    list_select_related = ["user"]
    search_fields = [
        "display_name",
        "user__username",
        "user__email",
        "user__first_name",
        "user__last_name",
    ]
    list_filter = [TeamListFilter, "time_zone", "user__is_staff"]
    readonly_fields = ["user_link", "created_at"]
    inlines = [EngineerMembershipInline, ContactMethodInline, NotificationRuleInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Engineer]:
        return super().get_queryset(request).prefetch_related("memberships__team")

    def get_form(self, request: HttpRequest, obj: Engineer | None = None, **kwargs: Any):
        kwargs["form"] = EngineerChangeForm if obj is not None else EngineerAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Engineer | None = None):
        if obj is None:
            return [
                (None, {"fields": ["username", "display_name", "time_zone"]}),
                ("Account", {"fields": ["email", "first_name", "last_name", "password"]}),
                ("Permissions", {"fields": ["is_staff"]}),
            ]
        return [(None, {"fields": ["user_link", "display_name", "time_zone", "created_at"]})]

    def get_readonly_fields(self, request: HttpRequest, obj: Engineer | None = None):
        return self.readonly_fields if obj is not None else []

    def get_inlines(self, request: HttpRequest, obj: Engineer | None):
        # Rules need saved contact methods to point at: offer them once the engineer exists.
        return self.inlines if obj is not None else [EngineerMembershipInline, ContactMethodInline]

    @admin.display(description="username", ordering="user__username")
    def username(self, obj: Engineer) -> str:
        return obj.user.get_username()

    @admin.display(description="e-mail", ordering="user__email")
    def email(self, obj: Engineer) -> str:
        return obj.user.email

    @admin.display(description="teams")
    def team_names(self, obj: Engineer) -> str:
        return ", ".join(m.team.name for m in obj.memberships.all())

    @admin.display(description="user")
    def user_link(self, obj: Engineer) -> str:
        from django.urls import reverse
        from django.utils.html import format_html

        url = reverse("admin:auth_user_change", args=[obj.user_id])
        return format_html('<a href="{}">{}</a>', url, obj.user.get_username())

    def save_model(
        self, request: HttpRequest, obj: Engineer, form: forms.ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        if change:
            services.engineer_update(
                engineer=Engineer.objects.select_related("user").get(pk=obj.pk),
                display_name=data["display_name"],
                time_zone=data["time_zone"],
            )
            obj.refresh_from_db()
            return
        created = services.engineer_create(
            username=data["username"],
            display_name=data.get("display_name", ""),
            email=data.get("email", ""),
            first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""),
            time_zone=data["time_zone"],
            is_staff=data.get("is_staff", False),
            password=data.get("password") or None,
        )
        _adopt(obj, created)

    def delete_model(self, request: HttpRequest, obj: Engineer) -> None:
        services.engineer_delete(engineer=obj)


# --- contact methods -------------------------------------------------------------------


def _timestamp_filter(field: str, title: str, yes: str, no: str) -> type[admin.SimpleListFilter]:
    """A yes/no list filter on whether the timestamp ``field`` is set."""

    class TimestampSetFilter(admin.SimpleListFilter):
        parameter_name = title

        def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
            return [("yes", yes), ("no", no)]

        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            if self.value() in ("yes", "no"):
                return queryset.filter(**{f"{field}__isnull": self.value() == "no"})
            return queryset

    TimestampSetFilter.title = title
    return TimestampSetFilter


VerifiedFilter = _timestamp_filter("verified_at", "verified", "Verified", "Not verified")
DisabledFilter = _timestamp_filter("disabled_at", "disabled", "Disabled", "Enabled")


class ContactMethodAdminForm(ContactMethodInlineForm):
    class Meta:
        model = ContactMethod
        fields = ["engineer", "kind", "value", "label"]


@admin.register(ContactMethod)
class ContactMethodAdmin(DeleteEachMixin, admin.ModelAdmin):
    form = ContactMethodAdminForm
    list_display = [
        "value",
        "kind",
        "engineer",
        "label",
        "verified_at",
        "disabled_at",
        "pageable",
    ]
    list_select_related = ["engineer"]
    list_filter = ["kind", VerifiedFilter, DisabledFilter]
    search_fields = [
        "value",
        "slack_email",
        "label",
        "engineer__display_name",
        "engineer__user__username",
    ]
    autocomplete_fields = ["engineer"]
    readonly_fields = list(ContactMethod.SET_BY_SERVICES)
    actions = ["send_verification_code", "disable_methods", "enable_methods"]

    def get_readonly_fields(self, request: HttpRequest, obj: ContactMethod | None = None):
        fixed = ["engineer", "kind"] if obj is not None else []
        return [*fixed, *self.readonly_fields]

    @admin.display(boolean=True, description="pageable")
    def pageable(self, obj: ContactMethod) -> bool:
        return obj.is_pageable

    def save_model(
        self, request: HttpRequest, obj: ContactMethod, form: forms.ModelForm, change: bool
    ) -> None:
        if change:
            services.contact_method_update(
                contact_method=ContactMethod.objects.get(pk=obj.pk),
                value=obj.value,
                label=obj.label,
            )
            obj.refresh_from_db()
        else:
            created = services.contact_method_create(
                engineer=obj.engineer, kind=obj.kind, value=obj.value, label=obj.label
            )
            _adopt(obj, created)

    def delete_model(self, request: HttpRequest, obj: ContactMethod) -> None:
        services.contact_method_delete(contact_method=obj)

    @admin.action(description="Send verification code")
    def send_verification_code(self, request: HttpRequest, queryset: QuerySet) -> None:
        sent = 0
        for cm in queryset:
            try:
                services.contact_method_send_verification(contact_method=cm)
            except services.VerificationRateLimited as exc:
                self.message_user(request, f"{cm}: {exc}", messages.WARNING)
            except ValidationError as exc:
                self.message_user(request, f"{cm}: {'; '.join(exc.messages)}", messages.ERROR)
            else:
                sent += 1
        if sent:
            self.message_user(request, f"Verification code sent to {sent} contact method(s).")

    @admin.action(description="Disable (stop paging)")
    def disable_methods(self, request: HttpRequest, queryset: QuerySet) -> None:
        reason = f"disabled by {request.user} in the admin on {timezone.now():%Y-%m-%d}"
        for cm in queryset:
            services.contact_method_disable(contact_method=cm, reason=reason)
        self.message_user(request, f"Disabled {queryset.count()} contact method(s).")

    @admin.action(description="Enable")
    def enable_methods(self, request: HttpRequest, queryset: QuerySet) -> None:
        for cm in queryset:
            services.contact_method_enable(contact_method=cm)
        self.message_user(request, f"Enabled {queryset.count()} contact method(s).")


# --- rules and codes ---------------------------------------------------------------------


@admin.register(NotificationRule)
class NotificationRuleAdmin(DeleteEachMixin, admin.ModelAdmin):
    list_display = ["engineer", "urgency", "delay_minutes", "contact_method"]
    list_select_related = ["engineer", "contact_method"]
    list_filter = ["urgency", "contact_method__kind"]
    search_fields = ["engineer__display_name", "engineer__user__username", "contact_method__value"]
    autocomplete_fields = ["engineer", "contact_method"]

    def save_model(
        self, request: HttpRequest, obj: NotificationRule, form: forms.ModelForm, change: bool
    ) -> None:
        if change:
            services.notification_rule_update(
                rule=NotificationRule.objects.get(pk=obj.pk),
                contact_method=obj.contact_method,
                delay_minutes=obj.delay_minutes,
                urgency=obj.urgency,
            )
            obj.refresh_from_db()
        else:
            created = services.notification_rule_create(
                engineer=obj.engineer,
                contact_method=obj.contact_method,
                delay_minutes=obj.delay_minutes,
                urgency=obj.urgency,
            )
            _adopt(obj, created)

    def delete_model(self, request: HttpRequest, obj: NotificationRule) -> None:
        services.notification_rule_delete(rule=obj)


@admin.register(VerificationCode)
class VerificationCodeAdmin(admin.ModelAdmin):
    """Read-only: codes are created by the send action; only their hash is stored."""

    list_display = ["contact_method", "created_at", "expires_at", "attempts", "used_at"]
    list_select_related = ["contact_method"]
    search_fields = ["contact_method__value", "contact_method__engineer__display_name"]
    list_filter = ["contact_method__kind"]
    exclude = ["code_hash"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- users: Django's user pages, saved through the services ------------------------------


admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class AuditedUserAdmin(DeleteEachMixin, UserAdmin):
    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool):
        services.user_save(user=obj)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.user_delete(user=obj)
