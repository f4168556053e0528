"""Incident response in the admin.

- A panel on the incident page (``incident_response_panel``, registered with
  ``paging.admin_incidents``): roles, status updates, the status page and action items,
  each a form that POSTs to a thin view below which calls one service as the acting
  admin. Marking an incident public asks once (it shows on a page anyone can read).
- Pages for stakeholder subscriptions, status page groups and action items; the first
  two write through the services (``stakeholder_subscription_create``,
  ``status_group_save``), so they are audited like the config file's writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from oncall.admin_read_only import ReadOnlyMixin
from oncall.people.models import Engineer
from oncall.people.selectors import engineer_for_user
from oncall.timefmt import local_text
from paging.actor import Actor, admin_actor
from paging.models import Incident
from paging.response.models import (
    ActionItem,
    IncidentPublication,
    IncidentRole,
    StakeholderSubscription,
    StatusPageGroup,
    StatusUpdate,
)
from paging.response.services import (
    action_item_create,
    action_item_update,
    incident_publish,
    incident_role_assign,
    stakeholder_subscription_create,
    stakeholder_subscription_delete,
    status_group_delete,
    status_group_save,
    status_update_post,
)


def _engineers() -> QuerySet[Engineer]:
    return Engineer.objects.order_by("display_name")


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=IncidentRole.Role.choices, label="Role")
    engineer = forms.ModelChoiceField(
        queryset=_engineers(), required=False, empty_label="nobody (clear)", label="Engineer"
    )


class StatusUpdateForm(forms.Form):
    state = forms.ChoiceField(choices=StatusUpdate.State.choices, label="State")
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, label="Update"
    )


class PublicForm(forms.Form):
    public_title = forms.CharField(max_length=200, label="Public title")


class ActionItemForm(forms.Form):
    title = forms.CharField(max_length=500, label="Action item")
    owner = forms.ModelChoiceField(queryset=_engineers(), required=False, label="Owner")
    due_date = forms.DateField(
        required=False, label="Due date", widget=forms.DateInput(attrs={"type": "date"})
    )


def _zone(request: HttpRequest) -> str:
    engineer = engineer_for_user(request.user)
    return engineer.time_zone if engineer is not None else "UTC"


def incident_response_panel(request: HttpRequest, incident: Incident, may_act: bool) -> str:
    """The incident page's response section (HTML)."""
    roles = {
        r.role: r for r in IncidentRole.objects.filter(incident=incident).select_related("engineer")
    }
    publication = IncidentPublication.objects.filter(incident=incident).first()
    context = {
        "incident": incident,
        "may_act": may_act,
        "tz": _zone(request),
        "today": timezone.now().date(),
        "roles": [(value, label, roles.get(value)) for value, label in IncidentRole.Role.choices],
        "updates": StatusUpdate.objects.filter(incident=incident)
        .select_related("actor")
        .order_by("-at", "-id"),
        "publication": publication,
        "items": ActionItem.objects.filter(incident=incident)
        .select_related("owner")
        .order_by(*ActionItem.ORDER),
        "role_form": RoleForm(),
        "update_form": StatusUpdateForm(),
        "public_form": PublicForm(
            initial={"public_title": publication.public_title if publication else ""}
        ),
        "item_form": ActionItemForm(),
        "csrf_token": get_token(request),
    }
    return render_to_string("admin/response/incident_panel.html", context, request=request)


# --- the panel's views -------------------------------------------------------------------


def _back(incident_id: int) -> HttpResponse:
    return HttpResponseRedirect(
        reverse("admin:paging_incident_change", args=[incident_id]) + "#response-title"
    )


class _PanelViews:
    """The views behind the panel's forms (mounted on the action items' admin)."""

    def __init__(self, model_admin: admin.ModelAdmin) -> None:
        self.model_admin = model_admin

    def urls(self) -> list[URLPattern]:
        site = self.model_admin.admin_site

        def view(fn: Callable[..., HttpResponse], name: str, route: str) -> URLPattern:
            return path(route, site.admin_view(fn), name=name)

        return [
            view(self.role_view, "response_incident_role", "incident/<int:incident_id>/role/"),
            view(
                self.update_view, "response_incident_update", "incident/<int:incident_id>/update/"
            ),
            view(
                self.public_view, "response_incident_public", "incident/<int:incident_id>/public/"
            ),
            view(self.item_view, "response_incident_item", "incident/<int:incident_id>/item/"),
            view(self.item_done_view, "response_item_done", "item/<int:item_id>/done/"),
        ]

    def _guard(self, request: HttpRequest, incident_id: int) -> Incident | HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        incident = Incident.objects.select_related("service").filter(pk=incident_id).first()
        if incident is None:
            return HttpResponse("No such incident.", status=404, content_type="text/plain")
        if not request.user.has_perm("paging.change_incident"):
            return HttpResponse(
                "You may not act on incidents.", status=403, content_type="text/plain"
            )
        return incident

    def _done(self, request: HttpRequest, what: str, actor: Actor) -> None:
        at = local_text(timezone.now(), _zone(request), seconds=True)
        messages.success(request, f"{what} by {actor.name} at {at}.")

    def _errors(self, request: HttpRequest, form: forms.Form) -> None:
        for name, errors in form.errors.items():
            label = "" if name == "__all__" else f"{form.fields[name].label or name}: "
            messages.error(request, f"{label}{' '.join(str(e) for e in errors)}")

    def _service_error(self, request: HttpRequest, exc: ValidationError) -> None:
        for name, errors in exc.message_dict.items():
            messages.error(request, f"{name}: {' '.join(errors)}")

    def role_view(self, request: HttpRequest, incident_id: int) -> HttpResponse:
        incident = self._guard(request, incident_id)
        if isinstance(incident, HttpResponse):
            return incident
        form = RoleForm(request.POST)
        if not form.is_valid():
            self._errors(request, form)
            return _back(incident.pk)
        actor = admin_actor(request.user)
        engineer = form.cleaned_data["engineer"]
        result = incident_role_assign(
            incident_id=incident.pk,
            role=form.cleaned_data["role"],
            engineer_id=engineer.pk if engineer else None,
            by_engineer_id=actor.engineer_id,
            via=actor.via,
        )
        label = result.role.get_role_display()
        who = engineer.display_name if engineer else "nobody"
        if not result.changed:
            messages.info(request, f"{label} is already {who}.")
        else:
            self._done(request, f"{label} set to {who}", actor)
        return _back(incident.pk)

    def update_view(self, request: HttpRequest, incident_id: int) -> HttpResponse:
        incident = self._guard(request, incident_id)
        if isinstance(incident, HttpResponse):
            return incident
        form = StatusUpdateForm(request.POST)
        if not form.is_valid():
            self._errors(request, form)
            return _back(incident.pk)
        actor = admin_actor(request.user)
        try:
            result = status_update_post(
                incident_id=incident.pk,
                state=form.cleaned_data["state"],
                text=form.cleaned_data["text"],
                engineer_id=actor.engineer_id,
                via=actor.via,
            )
        except ValidationError as exc:
            self._service_error(request, exc)
            return _back(incident.pk)
        self._done(request, f"Status update posted ({result.notified.text()})", actor)
        return _back(incident.pk)

    def public_view(self, request: HttpRequest, incident_id: int) -> HttpResponse:
        incident = self._guard(request, incident_id)
        if isinstance(incident, HttpResponse):
            return incident
        form = PublicForm(request.POST)
        if not form.is_valid():
            self._errors(request, form)
            return _back(incident.pk)
        title = form.cleaned_data["public_title"]
        if "confirmed" not in request.POST:
            context = {
                **self.model_admin.admin_site.each_context(request),
                "is_nav_sidebar_enabled": False,
                "title": f"Show incident #{incident.pk} on the status page?",
                "incident": incident,
                "incident_url": reverse("admin:paging_incident_change", args=[incident.pk]),
                "tz": _zone(request),
                "question": f"Anyone can read the status page: it will show this incident as "
                f"{title!r}, its impact, and the status updates posted from now on (not the "
                f"earlier ones, nor its internal title, alerts or people).",
                "confirm_label": "Mark public",
                "action_url": reverse("admin:response_incident_public", args=[incident.pk]),
                "carried": form,
            }
            return TemplateResponse(request, "admin/paging/incident/confirm.html", context)
        actor = admin_actor(request.user)
        try:
            result = incident_publish(
                incident_id=incident.pk,
                public_title=title,
                engineer_id=actor.engineer_id,
                via=actor.via,
            )
        except ValidationError as exc:
            self._service_error(request, exc)
            return _back(incident.pk)
        if result.changed:
            self._done(request, f"Marked public as {title!r}", actor)
        else:
            messages.info(request, f"Already public as {title!r}.")
        return _back(incident.pk)

    def item_view(self, request: HttpRequest, incident_id: int) -> HttpResponse:
        incident = self._guard(request, incident_id)
        if isinstance(incident, HttpResponse):
            return incident
        form = ActionItemForm(request.POST)
        if not form.is_valid():
            self._errors(request, form)
            return _back(incident.pk)
        actor = admin_actor(request.user)
        owner = form.cleaned_data["owner"]
        action_item_create(
            incident_id=incident.pk,
            title=form.cleaned_data["title"],
            owner_id=owner.pk if owner else None,
            due_date=form.cleaned_data["due_date"],
            engineer_id=actor.engineer_id,
            via=actor.via,
        )
        self._done(request, "Action item added", actor)
        return _back(incident.pk)

    def item_done_view(self, request: HttpRequest, item_id: int) -> HttpResponse:
        item = ActionItem.objects.filter(pk=item_id).first()
        if item is None:
            return HttpResponse("No such action item.", status=404, content_type="text/plain")
        incident = self._guard(request, item.incident_id)
        if isinstance(incident, HttpResponse):
            return incident
        done = request.POST.get("done") == "1"
        actor = admin_actor(request.user)
        action_item_update(item_id=item.pk, done=done, engineer_id=actor.engineer_id, via=actor.via)
        self._done(request, f"Action item {'done' if done else 'reopened'}", actor)
        return _back(incident.pk)


# --- model pages ------------------------------------------------------------------------


class OverdueFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Open"), ("overdue", "Overdue"), ("done", "Done")]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[ActionItem]
    ) -> QuerySet[ActionItem]:
        today = timezone.now().date()
        if self.value() == "open":
            return queryset.filter(done_at__isnull=True)
        if self.value() == "overdue":
            return queryset.filter(done_at__isnull=True, due_date__lt=today)
        if self.value() == "done":
            return queryset.filter(done_at__isnull=False)
        return queryset


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin):
    """Action items of all incidents; added and ticked off on the incident page, edited here
    through ``action_item_update``."""

    list_display = ["title", "incident_link", "owner", "due_date", "done_at"]
    list_filter = [OverdueFilter, "owner"]
    list_select_related = ["owner", "incident"]
    search_fields = ["title"]
    fields = ["incident", "title", "owner", "due_date", "done_at", "created_at", "created_by"]
    readonly_fields = ["incident", "done_at", "created_at", "created_by"]

    def get_urls(self) -> list[URLPattern]:
        return _PanelViews(self).urls() + super().get_urls()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # added from the incident page, where the incident is known

    def has_delete_permission(self, request: HttpRequest, obj: ActionItem | None = None) -> bool:
        return False  # history of the review: mark done instead

    @admin.display(description="Incident", ordering="incident")
    def incident_link(self, obj: ActionItem) -> str:
        return f"#{obj.incident_id}"

    def save_model(self, request: HttpRequest, obj: ActionItem, form: Any, change: bool) -> None:
        actor = admin_actor(request.user)
        action_item_update(
            item_id=obj.pk,
            title=obj.title,
            owner_id=obj.owner_id,
            due_date=obj.due_date,
            engineer_id=actor.engineer_id,
            via=actor.via,
        )


class SubscriptionForm(forms.ModelForm):
    class Meta:
        model = StakeholderSubscription
        fields = ["service", "engineer", "slack_channel"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("engineer")) == bool(data.get("slack_channel")):
            raise forms.ValidationError("Give an engineer or a Slack channel id (one of them).")
        return data


@admin.register(StakeholderSubscription)
class StakeholderSubscriptionAdmin(admin.ModelAdmin):
    """Who is told about the status updates of a service's incidents."""

    form = SubscriptionForm
    list_display = ["service", "engineer", "slack_channel", "created_at"]
    list_filter = ["service"]
    list_select_related = ["service", "engineer"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False if obj is not None else super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        try:
            saved = stakeholder_subscription_create(
                service=obj.service, engineer=obj.engineer, slack_channel=obj.slack_channel
            )
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: StakeholderSubscription) -> None:
        stakeholder_subscription_delete(subscription=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            stakeholder_subscription_delete(subscription=obj)


@admin.register(StatusPageGroup)
class StatusPageGroupAdmin(admin.ModelAdmin):
    """Groups of services on the public status page (its names are public)."""

    list_display = ["name", "position", "service_names"]
    fields = ["name", "description", "position", "services"]
    filter_horizontal = ["services"]

    @admin.display(description="Services")
    def service_names(self, obj: StatusPageGroup) -> str:
        return ", ".join(s.name for s in obj.services.all())

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        pass  # saved with its services in save_related, through the service

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        data = form.cleaned_data
        group = status_group_save(
            group=StatusPageGroup.objects.get(pk=form.instance.pk) if change else None,
            name=data["name"],
            description=data.get("description", ""),
            position=data.get("position") or 0,
            services=list(data.get("services") or []),
        )
        form.instance.pk = group.pk

    def delete_model(self, request: HttpRequest, obj: StatusPageGroup) -> None:
        status_group_delete(group=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            status_group_delete(group=obj)


@admin.register(StatusUpdate)
class StatusUpdateAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Every status update (history: posted from the incident page, the API or Slack)."""

    list_display = ["incident", "state", "text", "public", "at", "actor", "via"]
    list_filter = ["state", "public"]
    list_select_related = ["incident", "actor"]
