"""The incident pages of the admin: a list with open incidents first, and a page to act
on one incident (acknowledge, resolve, escalate now, reassign, add a note, set the
priority).

Incidents are history: nothing here edits or deletes them. Every button POSTs to a thin
view that asks once (a confirmation page), calls one service in ``paging.incident_actions`` as
the acting admin (``paging.actor``) and says what happened. An action that no longer
applies (acknowledging a resolved incident) answers 409 with what the incident is now.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.contrib import admin, messages
from django.db.models import Case, IntegerField, OuterRef, QuerySet, Subquery, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from oncall.admin_read_only import ReadOnlyMixin
from oncall.people.selectors import engineer_for_user
from oncall.timefmt import age_text, local_text, zone
from paging.actor import Actor, actor_label, admin_actor
from paging.admin_forms import (
    IncidentNoteForm,
    IncidentPriorityForm,
    IncidentReassignForm,
    IncidentResolveForm,
)
from paging.change_events import change_window, incident_recent_changes
from paging.incident_actions import (
    ActionResult,
    IncidentActionError,
    incident_acknowledge,
    incident_add_note,
    incident_escalate_now,
    incident_reassign,
    incident_resolve,
    incident_set_priority,
)
from paging.models import EscalationPolicy, Incident, PriorityLevel
from paging.models.incidents import RESOLUTIONS
from paging.priorities import PriorityInvalid, priority_label, priority_levels
from paging.priority_policy import more_urgent, priority_policy_move
from paging.selectors import incident_alerts, incident_timeline

TRIGGERED, ACKNOWLEDGED = Incident.Status.TRIGGERED, Incident.Status.ACKNOWLEDGED
OPEN = Incident.OPEN_STATUSES


@dataclass(frozen=True)
class IncidentAction:
    label: str  # the button
    done: str  # "Acknowledged" by … at …
    applies_to: tuple[str, ...]  # statuses the action changes
    question: str
    service: Callable[..., ActionResult]


ACTIONS: dict[str, IncidentAction] = {
    "acknowledge": IncidentAction(
        label="Acknowledge",
        done="Acknowledged",
        applies_to=(TRIGGERED,),
        question="Pending pages are cancelled and escalation stops until the "
        "acknowledgement times out.",
        service=incident_acknowledge,
    ),
    "resolve": IncidentAction(
        label="Resolve",
        done="Resolved",
        applies_to=OPEN,
        question="The incident and its firing alerts are closed; pending pages are "
        "cancelled. A new alert opens a new incident.",
        service=incident_resolve,
    ),
    "escalate": IncidentAction(
        label="Escalate now",
        done="Escalated",
        applies_to=OPEN,
        question="The next escalation step runs now and pages its targets "
        "(an acknowledged incident is triggered again).",
        service=incident_escalate_now,
    ),
}


# Panels other apps add to the incident page (``paging.response``: roles, status
# updates, status page, action items), registered in their ``AppConfig.ready()`` so this
# page imports none of them. Each renders its HTML for (request, incident, may_act).
IncidentPanel = Callable[[HttpRequest, Incident, bool], str]
_PANELS: list[IncidentPanel] = []


def incident_page_panel_register(panel: IncidentPanel) -> None:
    if panel not in _PANELS:
        _PANELS.append(panel)


# --- how a viewer reads an incident ---------------------------------------------------


def _viewer_zone(request: HttpRequest) -> str:
    engineer = engineer_for_user(request.user)
    return engineer.time_zone if engineer is not None else "UTC"


def _is_web_link(value: object) -> bool:
    # Only http(s): a javascript: or data: "link" from an alert source stays text.
    return isinstance(value, str) and urlsplit(value.strip()).scheme in ("http", "https")


def _value_html(value: Any) -> str:
    if _is_web_link(value):
        return format_html('<a href="{}" rel="noopener noreferrer">{}</a>', value.strip(), value)
    if isinstance(value, str | int | float | bool) or value is None:
        return format_html("{}", "" if value is None else value)
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


@dataclass(frozen=True)
class KeyValueTable:
    title: str
    rows: list[tuple[str, str]]  # (key, value as HTML)


def details_tables(details: dict[str, Any]) -> list[KeyValueTable]:
    """An alert's details as key-value tables: one per object of scalars (labels,
    annotations, custom details), the remaining scalars in "Details"."""
    tables, loose = [], []
    for key, value in details.items():
        if isinstance(value, dict) and value:
            rows = [(str(k), _value_html(v)) for k, v in sorted(value.items())]
            tables.append(KeyValueTable(title=key.replace("_", " ").capitalize(), rows=rows))
        elif value not in ("", None, [], {}):
            loose.append((str(key), _value_html(value)))
    if loose:
        tables.append(KeyValueTable(title="Details", rows=loose))
    return tables


def links_html(links: list[Any]) -> list[str]:
    out: list[str] = []
    for link in links or []:
        href = link.get("href", "") if isinstance(link, dict) else ""
        text = (link.get("text") if isinstance(link, dict) else "") or href
        if _is_web_link(href):
            out.append(format_html('<a href="{}" rel="noopener noreferrer">{}</a>', href, text))
        elif href:
            out.append(format_html("{} <code>{}</code>", text, href))
    return out


def _header(incident: Incident, tz: str) -> dict[str, Any]:
    now = timezone.now()
    ack_by = actor_label(
        incident.acknowledged_by.display_name if incident.acknowledged_by else None,
        incident.acknowledged_via,
    )
    resolved_by = actor_label(
        incident.resolved_by.display_name if incident.resolved_by else None,
        incident.resolved_via,
    )
    return {
        "age": age_text((incident.resolved_at or now) - incident.created_at),
        "assignees": [e.display_name for e in incident.assigned_to.all()],
        "acknowledged_by": ack_by,
        "resolved_by": resolved_by,
        "open": incident.is_open,
        "tz": tz,
    }


# --- the list -------------------------------------------------------------------------


class PriorityFilter(admin.SimpleListFilter):
    title = "priority"
    parameter_name = "priority"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(level.level), level.label) for level in priority_levels()] + [
            ("none", "none (not graded)")
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Incident]) -> QuerySet[Incident]:
        value = self.value()
        if value == "none":
            return queryset.filter(priority__isnull=True)
        if value and value.isdigit():
            return queryset.filter(priority=int(value))
        return queryset


class SuppressedFilter(admin.SimpleListFilter):
    """Incidents an alert rule or an inhibition kept from paging anyone."""

    title = "paged"
    parameter_name = "suppressed"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Suppressed (nobody paged)"), ("no", "Paged normally")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Incident]) -> QuerySet[Incident]:
        if self.value() == "yes":
            return queryset.exclude(suppressed_by="")
        if self.value() == "no":
            return queryset.filter(suppressed_by="")
        return queryset


@admin.register(Incident)
class IncidentAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "title_short",
        "service",
        "status_badge",
        "priority_short",
        "triggered",
        "responder",
    ]
    list_display_links = ["number", "title_short"]
    list_filter = ["status", PriorityFilter, "service", "urgency", SuppressedFilter]
    list_select_related = ["service", "acknowledged_by"]
    search_fields = ["title", "dedup_key"]
    date_hierarchy = "created_at"
    actions = ["acknowledge", "resolve", "escalate"]
    list_per_page = 50

    class Media:
        css = {"all": ["paging/incident_admin.css"]}

    # Incidents come from alerts and are history (ReadOnlyMixin): no add, no edit form,
    # no delete. Acting on them is the buttons' job.

    def may_act(self, request: HttpRequest) -> bool:
        """Acting on incidents (not editing them) needs the change permission."""
        return request.user.has_perm("paging.change_incident")

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        # Open incidents first, newest first within each group (a column click re-sorts).
        # An expression, not an annotation: other admins order their incident choices
        # with this too (a foreign key to an incident), on a plain queryset.
        closed = Case(
            When(status__in=OPEN, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
        return [closed.asc(), "-created_at", "-id"]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # The list needs the width at 1280 px more than the app navigation does.
        extra_context = {**(extra_context or {}), "is_nav_sidebar_enabled": False}
        return super().changelist_view(request, extra_context)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Incident]:
        # The level's name in the same query (no name: the level is not configured).
        name = PriorityLevel.objects.filter(level=OuterRef("priority")).values("name")[:1]
        return super().get_queryset(request).annotate(_priority_name=Subquery(name))

    @admin.display(description="#", ordering="id")
    def number(self, obj: Incident) -> str:
        return f"#{obj.pk}"

    @admin.display(description="Priority", ordering="priority")
    def priority_short(self, obj: Incident) -> str:
        if obj.priority is None:
            return "—"
        return getattr(obj, "_priority_name", None) or f"P{obj.priority}"

    @admin.display(description="Title", ordering="title")
    def title_short(self, obj: Incident) -> str:
        return Truncator(obj.title).chars(70)

    @admin.display(description="Status, urgency", ordering="status")
    def status_badge(self, obj: Incident) -> str:
        return format_html(
            '<span class="incident-status status-{}">{}</span> <span class="urgency">{}</span>',
            obj.status,
            obj.get_status_display(),
            obj.urgency,
        )

    @admin.display(description="Triggered (UTC), age", ordering="created_at")
    def triggered(self, obj: Incident) -> str:
        # Listed as this; get_list_display swaps in the same column in the viewer's zone.
        return self._triggered_in(obj, zone("UTC"))

    @staticmethod
    def _triggered_in(obj: Incident, tz: Any) -> str:
        age = age_text((obj.resolved_at or timezone.now()) - obj.created_at)
        return f"{obj.created_at.astimezone(tz):%d %b %H:%M %Z} · {age}"

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        # "Triggered" in the viewer's zone, as on the incident page (UTC for a user who
        # is no engineer), named in the column's heading and in each cell.
        tz = zone(_viewer_zone(request))

        @admin.display(description=f"Triggered ({tz.key}), age", ordering="created_at")
        def triggered(obj: Incident) -> str:
            return self._triggered_in(obj, tz)

        return [triggered if name == "triggered" else name for name in self.list_display]

    @admin.display(description="Acknowledged by")
    def responder(self, obj: Incident) -> str:
        name = obj.acknowledged_by.display_name if obj.acknowledged_by else None
        return actor_label(name, obj.acknowledged_via) or "—"

    def _run(self, request: HttpRequest, queryset: QuerySet[Incident], fn, verb: str) -> None:
        if not self.may_act(request):
            self.message_user(request, "You may not act on incidents.", messages.ERROR)
            return
        actor = admin_actor(request.user)
        changed = 0
        for incident_id in queryset.values_list("pk", flat=True):
            result = fn(incident_id=incident_id, engineer_id=actor.engineer_id, via=actor.via)
            changed += int(result.changed)
        self.message_user(request, f"{changed} incident(s) {verb}.", messages.SUCCESS)

    @admin.action(description="Acknowledge")
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        self._run(request, queryset, incident_acknowledge, "acknowledged")

    @admin.action(description="Resolve")
    def resolve(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        self._run(request, queryset, incident_resolve, "resolved")

    @admin.action(description="Escalate now")
    def escalate(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        self._run(request, queryset, incident_escalate_now, "escalated")

    # --- the incident page ---------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        def view(fn: Callable[..., HttpResponse], name: str, route: str) -> URLPattern:
            return path(route, self.admin_site.admin_view(fn), name=name)

        own = [
            view(self.act_view, "paging_incident_act", "<int:incident_id>/act/<str:action>/"),
            view(self.note_view, "paging_incident_note", "<int:incident_id>/note/"),
            view(self.reassign_view, "paging_incident_reassign", "<int:incident_id>/reassign/"),
            view(self.priority_view, "paging_incident_priority", "<int:incident_id>/priority/"),
        ]
        return own + super().get_urls()

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        incident = self._incident(object_id)
        if incident is None or not self.has_view_permission(request, incident):
            return self._get_obj_does_not_exist_redirect(  # type: ignore[attr-defined]  # private ModelAdmin helper the stubs omit
                request, self.opts, str(object_id)
            )
        tz = _viewer_zone(request)
        levels = priority_levels()
        alerts = [
            {
                "alert": alert,
                "tables": details_tables(alert.details or {}),
                "links": links_html(alert.links),
                "source": alert.integration or alert.source,
            }
            for alert in incident_alerts(incident_id=incident.pk)
        ]
        context = {
            **self.admin_site.each_context(request),
            "is_nav_sidebar_enabled": False,  # the page's width is for the incident
            "opts": self.opts,
            "title": f"Incident #{incident.pk}",
            "subtitle": incident.title,
            "incident": incident,
            "header": _header(incident, tz),
            "timeline": incident_timeline(incident_id=incident.pk),
            "alerts": alerts,
            "incident_links": links_html(incident.links),
            "recent_changes": [
                (change, links_html(change.links))
                for change in incident_recent_changes(incident=incident)
            ],
            "change_window_minutes": int(change_window().total_seconds() // 60),
            "actions": [
                (key, action)
                for key, action in ACTIONS.items()
                if incident.status in action.applies_to
            ],
            "may_act": self.may_act(request),
            "note_form": IncidentNoteForm(),
            "reassign_form": IncidentReassignForm(),
            "priority_label": priority_label(incident.priority, levels),
            "priority_form": IncidentPriorityForm(
                levels=levels, initial={"priority": incident.priority}
            ),
            "tz": tz,
            "panels": [panel(request, incident, self.may_act(request)) for panel in _PANELS],
        }
        return TemplateResponse(request, "admin/paging/incident/incident_page.html", context)

    def _incident(self, incident_id: str | int) -> Incident | None:
        return (
            Incident.objects.select_related(
                "service", "acknowledged_by", "resolved_by", "escalation_policy"
            )
            .prefetch_related("assigned_to")
            .filter(pk=incident_id)
            .first()
        )

    def _back(self, incident_id: int) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:paging_incident_change", args=[incident_id]))

    def _done(self, request: HttpRequest, incident: Incident, what: str, actor: Actor) -> None:
        at = local_text(timezone.now(), _viewer_zone(request), seconds=True)
        self.message_user(request, f"{what} by {actor.name} at {at}.", messages.SUCCESS)

    def _page(
        self,
        request: HttpRequest,
        incident: Incident,
        *,
        title: str,
        status: int = 200,
        **context: Any,
    ) -> TemplateResponse:
        """The confirmation step, or (409) the answer to an action that no longer applies."""
        context = {
            **self.admin_site.each_context(request),
            "is_nav_sidebar_enabled": False,
            "opts": self.opts,
            "title": title,
            "incident": incident,
            "incident_url": reverse("admin:paging_incident_change", args=[incident.pk]),
            "tz": _viewer_zone(request),
            **context,
        }
        return TemplateResponse(
            request, "admin/paging/incident/confirm.html", context, status=status
        )

    def _stale(self, request: HttpRequest, incident: Incident, verb: str) -> TemplateResponse:
        incident.refresh_from_db()
        people = _header(incident, _viewer_zone(request))
        if incident.status == Incident.Status.RESOLVED:
            state, by, when = "resolved", people["resolved_by"], incident.resolved_at
        else:
            state, by, when = "acknowledged", people["acknowledged_by"], incident.acknowledged_at
        state = f"already {state}" + (f" by {by}" if by else "")
        at = local_text(when, _viewer_zone(request), seconds=True) if when else ""
        return self._page(
            request,
            incident,
            title=f"Not {verb}: incident #{incident.pk} is {state}",
            status=409,
            stale=f"Incident #{incident.pk} is {state}{f' (at {at})' if at else ''}; "
            f"nothing was changed.",
        )

    def _guard(self, request: HttpRequest, incident_id: int) -> Incident | HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        incident = self._incident(incident_id)
        if incident is None:
            return HttpResponse("No such incident.", status=404, content_type="text/plain")
        if not self.may_act(request):
            return HttpResponse(
                "You may not act on incidents.", status=403, content_type="text/plain"
            )
        return incident

    def act_view(self, request: HttpRequest, incident_id: int, action: str) -> HttpResponse:
        incident = self._guard(request, incident_id)
        if isinstance(incident, HttpResponse):
            return incident
        spec = ACTIONS.get(action)
        if spec is None:
            return HttpResponse(
                f"Unknown action {action!r}.", status=404, content_type="text/plain"
            )
        if incident.status not in spec.applies_to:
            return self._stale(request, incident, spec.done.lower())
        if "confirmed" not in request.POST:
            return self._page(
                request,
                incident,
                title=f"{spec.label}: incident #{incident.pk}?",
                question=spec.question,
                confirm_label=spec.label,
                action_url=reverse("admin:paging_incident_act", args=[incident.pk, action]),
                # Resolving asks (optionally) why.
                fields=IncidentResolveForm() if action == "resolve" else None,
            )
        actor = admin_actor(request.user)
        extra: dict[str, Any] = {}
        done = spec.done
        if action == "resolve":
            form = IncidentResolveForm(request.POST)
            if not form.is_valid():
                self._form_errors(request, form)
                return self._back(incident.pk)
            extra["resolution"] = form.cleaned_data["resolution"] or None
            if extra["resolution"]:
                done += f" ({dict(RESOLUTIONS)[extra['resolution']].lower()})"
        result = spec.service(
            incident_id=incident.pk, engineer_id=actor.engineer_id, via=actor.via, **extra
        )
        if not result.changed:  # someone else acted between the two clicks
            return self._stale(request, incident, spec.done.lower())
        self._done(request, incident, done, actor)
        return self._back(incident.pk)

    def _form_errors(self, request: HttpRequest, form: Any) -> None:
        for field, errors in form.errors.items():
            label = "" if field == "__all__" else f"{form.fields[field].label or field.title()}: "
            self.message_user(request, f"{label}{' '.join(errors)}", messages.ERROR)

    def note_view(self, request: HttpRequest, incident_id: int) -> HttpResponse:
        incident = self._guard(request, incident_id)
        if isinstance(incident, HttpResponse):
            return incident
        form = IncidentNoteForm(request.POST)
        if form.is_valid():
            actor = admin_actor(request.user)
            incident_add_note(
                incident_id=incident.pk,
                text=form.cleaned_data["text"],
                engineer_id=actor.engineer_id,
                via=actor.via,
            )
            self._done(request, incident, "Note added", actor)
        else:
            self._form_errors(request, form)
        return self._back(incident.pk)

    def reassign_view(self, request: HttpRequest, incident_id: int) -> HttpResponse:
        incident = self._guard(request, incident_id)
        if isinstance(incident, HttpResponse):
            return incident
        form = IncidentReassignForm(request.POST)
        if not form.is_valid():
            self._form_errors(request, form)
            return self._back(incident.pk)
        if not incident.is_open:
            return self._stale(request, incident, "reassigned")
        engineers, policy = form.cleaned_data["engineers"], form.cleaned_data["policy"]
        target = (
            ", ".join(e.display_name for e in engineers)
            if engineers
            else f"escalation policy {policy.name}"
        )
        if "confirmed" not in request.POST:
            return self._page(
                request,
                incident,
                title=f"Reassign incident #{incident.pk} to {target}?",
                question="They are paged now; pending pages to the current responders are "
                "cancelled.",
                confirm_label="Reassign",
                action_url=reverse("admin:paging_incident_reassign", args=[incident.pk]),
                carried=form,
            )
        actor = admin_actor(request.user)
        try:
            incident_reassign(
                incident_id=incident.pk,
                engineer_ids=[e.pk for e in engineers] or None,
                policy_id=policy.pk if policy else None,
                by_engineer_id=actor.engineer_id,
                via=actor.via,
            )
        except IncidentActionError:
            return self._stale(request, incident, "reassigned")
        self._done(request, incident, f"Reassigned to {target}", actor)
        return self._back(incident.pk)

    def priority_view(self, request: HttpRequest, incident_id: int) -> HttpResponse:
        incident = self._guard(request, incident_id)
        if isinstance(incident, HttpResponse):
            return incident
        levels = priority_levels()
        form = IncidentPriorityForm(request.POST, levels=levels)
        if not form.is_valid():
            self._form_errors(request, form)
            return self._back(incident.pk)
        priority = form.cleaned_data["priority"]
        label = priority_label(priority, levels)
        if incident.priority == priority:
            self.message_user(request, f"The priority is already {label}.", messages.INFO)
            return self._back(incident.pk)
        move_to = priority_policy_move(incident=incident, priority=priority)
        if move_to is not None and "confirmed" not in request.POST:
            # Paging people is not undone by setting the priority back: ask once.
            policy = EscalationPolicy.objects.get(pk=move_to)
            was = f"'{incident.escalation_policy.name}'" if incident.escalation_policy else "none"
            if incident.escalation_started_at is None:
                starts = "Nobody has been paged yet: the new policy starts when paging would."
            else:
                when = (
                    "now"
                    if more_urgent(priority, than=incident.priority)
                    else "when the old policy's next step was due"
                )
                starts = (
                    f"Its first step pages {when}; pending pages under the old policy "
                    "are cancelled."
                )
            return self._page(
                request,
                incident,
                title=f"Set incident #{incident.pk} to {label}?",
                question=f"{label} incidents of {incident.service.name} follow the escalation "
                f"policy '{policy.name}': this incident moves from {was} to it. {starts}",
                confirm_label="Set priority",
                action_url=reverse("admin:paging_incident_priority", args=[incident.pk]),
                carried=form,
            )
        actor = admin_actor(request.user)
        try:
            result = incident_set_priority(
                incident_id=incident.pk,
                priority=priority,
                engineer_id=actor.engineer_id,
                via=actor.via,
            )
        except PriorityInvalid as exc:
            self.message_user(request, f"Priority: {exc}", messages.ERROR)
            return self._back(incident.pk)
        moved = f"; escalation moved to '{result.moved_to.name}'" if result.moved_to else ""
        self._done(request, incident, f"Priority set to {label}{moved}", actor)
        return self._back(incident.pk)
