"""Admin for services (with their policy per priority), integrations, policies and
priority levels. Actions call the services.

The incident pages are in ``paging.admin_incidents``."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from oncall.admin_read_only import ReadOnlyMixin
from oncall.audit.admin_mixins import DeleteEachMixin
from oncall.people.selectors import engineer_id_for_user
from paging.admin_policy_forms import (
    URGENCY_FIELDS,
    IntegrationForm,
    PolicyForm,
    ServiceForm,
    StepForm,
    UnresolvedStepForm,
    address_field,
    address_target_kinds,
    step_form_class,
    step_sentence,
    unresolved_sentence,
)
from paging.admin_rules import (
    SAMPLE_HINT,
    AlertRuleInline,
    RulesTestForm,
    integration_rules_save_from_admin,
    rules_test_urls,
)
from paging.integration_tokens import integration_token_rotate
from paging.models import (
    ChangeEvent,
    EngineHeartbeat,
    EngineStep,
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
    Integration,
    MaintenanceWindow,
    Message,
    PriorityLevel,
    Service,
    ServicePriorityPolicy,
    UnresolvedStep,
)
from paging.policy_versions import policy_version_apply_to_open
from paging.policy_writes import (
    StepSpec,
    TargetSpec,
    UnresolvedSpec,
    policy_delete,
    policy_save,
    target_reference,
)
from paging.priorities import DEFAULT_LEVELS, priority_levels
from paging.service_writes import (
    integration_delete,
    integration_save,
    maintenance_window_delete,
    maintenance_window_save,
    priority_level_delete,
    priority_level_save,
    service_delete,
    service_priority_policies_save,
    service_save,
)


def _copyable_url(integration: Integration) -> str:
    if not integration.pk:
        return "(saved integrations get a URL)"
    # A copy button (paging/copy.js), no inline script: the page runs under a self-only CSP.
    parts = [("Inbound URL", integration.inbound_url)]
    if integration.kind == Integration.Kind.PAGERDUTY:
        parts.append(("Routing key", integration.token))
    return format_html_join(
        "",
        '<span class="copyable"><span class="copyable-label">{}:</span> <code id="{}">{}</code>'
        ' <button type="button" class="button copy-button" data-copy="{}"'
        ' aria-label="Copy the {} of {}">Copy</button></span>',
        (
            (
                label,
                f"copy-{integration.pk}-{i}",
                value,
                f"copy-{integration.pk}-{i}",
                label.lower(),
                integration,
            )  # fmt: skip
            for i, (label, value) in enumerate(parts)
        ),
    )


class CopyMedia:
    css = {"all": ["paging/admin_paging.css"]}
    js = ["paging/copy.js"]


class RulesMedia(CopyMedia):
    css = {"all": ["paging/admin_paging.css", "paging/admin_rules.css"]}


class IntegrationInline(admin.StackedInline):
    # Stacked: the full URL wraps under its label instead of a cell off to the right.
    model = Integration
    form = IntegrationForm
    extra = 0
    fields = ["kind", "name", "grouping", "rate_limit_per_minute", "sns_topic_arns", "inbound"]
    readonly_fields = ["inbound"]

    @admin.display(description="Inbound URL (paste into the alert source)")
    def inbound(self, obj: Integration) -> str:
        return _copyable_url(obj)


class PriorityPolicyInline(admin.TabularInline):
    model = ServicePriorityPolicy
    extra = 0
    fields = ["priority", "escalation_policy"]
    verbose_name = "escalation policy for a priority"
    verbose_name_plural = "Escalation policy per priority (other priorities: the policy above)"

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "priority" and field is not None:
            field = cast(forms.TypedChoiceField, field)  # the model field has choices
            field.choices = [("", "---------")] + [
                (level.level, level.label) for level in priority_levels()
            ]
        return field


class MaintenanceWindowInline(admin.TabularInline):
    model = MaintenanceWindow
    extra = 0

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name in ("starts_at", "ends_at") and field is not None:
            field.help_text = "UTC"  # a service has no zone of its own
        return field


@admin.register(Service)
class ServiceAdmin(DeleteEachMixin, admin.ModelAdmin):
    form = ServiceForm
    list_display = ["name", "team", "escalation_policy", "ack_timeout_minutes"]
    list_filter = ["team"]
    search_fields = ["name"]
    inlines = [IntegrationInline, PriorityPolicyInline, MaintenanceWindowInline]
    fieldsets = [
        (None, {"fields": ["name", "description", "team", "escalation_policy"]}),
        (
            "Urgency: how each alert severity pages",
            {"fields": [*URGENCY_FIELDS, "low_urgency_business_hours_only"]},
        ),
        ("Acknowledged but not resolved", {"fields": ["ack_timeout_minutes"]}),
    ]
    Media = CopyMedia

    def save_model(self, request: HttpRequest, obj: Service, form: Any, change: bool) -> None:
        service_save(service=obj, fields={})

    def delete_model(self, request: HttpRequest, obj: Service) -> None:
        service_delete(service=obj)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is ServicePriorityPolicy:
            # The whole set at once: moving a policy from P2 to P1 is one change.
            by_priority = {
                f.cleaned_data["priority"]: f.cleaned_data["escalation_policy"].pk
                for f in formset.forms
                if f.cleaned_data
                and not formset._should_delete_form(f)
                and f.cleaned_data.get("escalation_policy")
            }
            service_priority_policies_save(service=form.instance, policies=by_priority)
            _formset_done(formset)
            return
        if formset.model is Integration:
            for integration in formset.save(commit=False):
                integration_save(integration=integration, fields={})
            for integration in formset.deleted_objects:
                integration_delete(integration=integration)
            return
        # Windows go through the service: one shortened or deleted releases the
        # incidents it held.
        windows = formset.save(commit=False)
        for window in formset.deleted_objects:
            maintenance_window_delete(window=window)
        for window in windows:
            maintenance_window_save(window=window, fields={})


@admin.register(Integration)
class IntegrationAdmin(DeleteEachMixin, admin.ModelAdmin):
    form = IntegrationForm
    list_display = ["__str__", "kind", "grouping", "rate_limit_per_minute", "rule_count", "inbound"]
    list_filter = ["kind"]
    fields = [
        "service",
        "kind",
        "name",
        "grouping",
        "rate_limit_per_minute",
        "sns_topic_arns",
        "sns_subscriptions",
        "inbound",
        "token",
        "created_at",
    ]
    readonly_fields = ["inbound", "sns_subscriptions", "token", "created_at"]
    actions = ["rotate_token"]
    # Alert rules inline, and the "test these rules against a sample alert" box under them.
    inlines = [AlertRuleInline]
    change_form_template = "admin/paging/integration/change_form.html"
    Media = RulesMedia

    def get_urls(self) -> list[Any]:
        return rules_test_urls(self) + super().get_urls()

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        integration = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "rules_test_form": RulesTestForm(),
            "sample_hint": SAMPLE_HINT.get(integration.kind, "") if integration else "",
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        integration_rules_save_from_admin(form.instance, formsets)

    @admin.display(description="Alert rules")
    def rule_count(self, obj: Integration) -> int:
        return obj.rules.count()

    @admin.display(description="SNS subscriptions (as SNS confirmed them)")
    def sns_subscriptions(self, obj: Integration) -> str:
        rows = (
            [
                (sub.topic_arn, sub.get_status_display(), sub.updated_at)
                for sub in obj.sns_subscriptions.all()
            ]
            if obj.pk
            else []
        )
        if not rows:
            return "—"
        return format_html_join(
            format_html("<br>"), "<code>{}</code>: {} (since {:%Y-%m-%d %H:%M} UTC)", rows
        )

    @admin.action(description="Rotate the token (the old one stops working at once)")
    def rotate_token(self, request: HttpRequest, queryset: QuerySet[Integration]) -> None:
        for integration in queryset:
            integration_token_rotate(integration_id=integration.pk, actor_id=request.user.pk)
        self.message_user(
            request,
            f"New token for {queryset.count()} integration(s): give the alert sources the new"
            " URL or routing key.",
            messages.SUCCESS,
        )

    def save_model(self, request: HttpRequest, obj: Integration, form: Any, change: bool):
        integration_save(integration=obj, fields={})

    def delete_model(self, request: HttpRequest, obj: Integration) -> None:
        integration_delete(integration=obj)

    @admin.display(description="Inbound URL (paste into the alert source)")
    def inbound(self, obj: Integration) -> str:
        return _copyable_url(obj)


@admin.register(PriorityLevel)
class PriorityLevelAdmin(DeleteEachMixin, admin.ModelAdmin):
    """Priority levels. With none configured the defaults apply (the list says which);
    once one is added, exactly the levels listed are in use."""

    list_display = ["__str__", "name", "ack_within_minutes", "resolve_within_minutes"]
    fields = ["level", "name", "description", "ack_within_minutes", "resolve_within_minutes"]
    ordering = ["level"]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not PriorityLevel.objects.exists():
            defaults = "; ".join(
                f"{level.code} ack {level.ack_within_minutes} min, resolve "
                f"{level.resolve_within_minutes} min"
                for level in DEFAULT_LEVELS
            )
            self.message_user(
                request,
                f"No priority levels configured: the defaults are in use ({defaults}). "
                "Once you add one, only the levels listed here are in use.",
                messages.INFO,
            )
        return super().changelist_view(request, extra_context)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["level"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: PriorityLevel, form: Any, change: bool):
        priority_level_save(level=obj, fields={})

    def delete_model(self, request: HttpRequest, obj: PriorityLevel) -> None:
        priority_level_delete(level=obj)


def _formset_done(formset: Any) -> None:
    # The admin's change message reads what formset.save() would have set.
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


class EscalationStepInline(admin.StackedInline):
    """A step and its targets on one form; numbered from 1 as the timeline counts."""

    model = EscalationStep
    form = StepForm
    extra = 0
    verbose_name = "step"
    verbose_name_plural = "Steps (each pages its targets, then waits for an acknowledgement)"

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # One field a line: side by side, the help texts were cut off on phones. A text
        # field per registered address target kind (Slack channels, PagerDuty services…).
        addresses = [address_field(kind) for kind in address_target_kinds()]
        return ("number", "delay_minutes", "targets", *addresses)

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        kwargs["form"] = step_form_class()
        return super().get_formset(request, obj, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet[EscalationStep]:
        return super().get_queryset(request).order_by("position")


class UnresolvedStepInline(admin.StackedInline):
    """ "Not resolved N minutes after the trigger: notify X" (also after an ack)."""

    model = UnresolvedStep
    form = UnresolvedStepForm
    extra = 0
    verbose_name = "unresolved step"
    verbose_name_plural = (
        "Unresolved steps (a notice, even once acknowledged, while the incident is not"
        " resolved: through each person's low-urgency rules, or to a Slack channel)"
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[UnresolvedStep]:
        return super().get_queryset(request).order_by("after_minutes", "id")


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(DeleteEachMixin, admin.ModelAdmin):
    """Edits go through ``policy_save`` (a new version for new incidents); open incidents
    keep their version until the "apply to open incidents" action."""

    form = PolicyForm
    list_display = ["name", "team", "repeat", "current_version"]
    fields = ["name", "description", "team", "repeat", "steps_summary", "current_version"]
    readonly_fields = ["steps_summary", "current_version"]
    inlines = [EscalationStepInline, UnresolvedStepInline]
    actions = ["apply_to_open"]
    Media = CopyMedia

    @admin.display(description="What it does")
    def steps_summary(self, obj: EscalationPolicy) -> str:
        if not obj.pk:
            return "(steps are listed here once saved)"
        steps = list(obj.steps.order_by("position").prefetch_related(
            "targets__engineer", "targets__team", "targets__schedule__team"
        ))  # fmt: skip
        unresolved = list(
            obj.unresolved_steps.order_by("after_minutes", "id").select_related(
                "engineer", "team", "schedule__team"
            )
        )
        notices = format_html_join(
            "", "<li>{}</li>", ((unresolved_sentence(u),) for u in unresolved)
        )
        after = (
            format_html(
                '<p>Even once acknowledged, until resolved:</p><ul class="policy-unresolved">'
                "{}</ul>",
                notices,
            )
            if unresolved
            else ""
        )
        if not steps:
            return format_html("No steps: nobody is paged.{}", after)
        return format_html(
            '<ol class="policy-steps">{}</ol>{}',
            format_html_join(
                "", "<li>{}</li>", ((step_sentence(s, len(steps), obj.repeat),) for s in steps)
            ),
            after,
        )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        pass  # saved with its steps by save_related, through policy_save

    def delete_model(self, request: HttpRequest, obj: EscalationPolicy) -> None:
        policy_delete(policy=obj)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        policy = form.instance
        steps: list[tuple[int, int, StepSpec]] = []
        unresolved: list[UnresolvedSpec] = []
        for formset in formsets:
            if formset.model is UnresolvedStep:
                unresolved.extend(
                    f.unresolved_spec()
                    for f in formset.forms
                    if not formset._should_delete_form(f) and (f.instance.pk or f.has_changed())
                )
                _formset_done(formset)
                continue
            for i, step_form in enumerate(formset.forms):
                step = step_form.instance
                if formset._should_delete_form(step_form) or not (
                    step.pk or step_form.has_changed()
                ):
                    continue
                steps.append((step_form.cleaned_data["number"], i, step_form.step_spec()))
            _formset_done(formset)
        steps.sort(key=lambda item: item[:2])
        policy_save(
            policy=policy,
            fields={},
            steps=[spec for *_, spec in steps],
            actor_id=engineer_id_for_user(request.user),
            unresolved=unresolved,
        )

    @admin.action(description="Apply the current version to open incidents")
    def apply_to_open(self, request: HttpRequest, queryset: QuerySet[EscalationPolicy]) -> None:
        for policy in queryset:
            result = policy_version_apply_to_open(
                policy_id=policy.pk, actor_id=engineer_id_for_user(request.user), via="admin"
            )
            self.message_user(
                request,
                f"{policy.name}: {result.moved} open incident(s) moved to "
                f"v{result.version.number}.",
                messages.SUCCESS,
            )


def _target_spec(target: EscalationTarget) -> TargetSpec:
    # Only the reference the kind uses: a stray value in another column is dropped.
    needed = target_reference(target.kind) or "address"
    return TargetSpec(kind=target.kind, **{needed: getattr(target, needed)})


def _specs_from_rows(policy: EscalationPolicy) -> dict[int, StepSpec]:
    """The policy's steps as they are saved, by step id."""
    return {
        step.pk: StepSpec(
            delay_minutes=step.delay_minutes,
            targets=[_target_spec(t) for t in step.targets.order_by("id")],
        )
        for step in policy.steps.order_by("position")
    }


class EscalationTargetInline(admin.TabularInline):
    model = EscalationTarget
    extra = 1
    fields = ["kind", "engineer", "team", "schedule", "address"]


@admin.register(EscalationStep)
class EscalationStepAdmin(admin.ModelAdmin):
    """A step's targets; steps are added, moved and removed on their policy's page."""

    list_display = ["__str__", "delay_minutes"]
    fields = ["policy", "position", "delay_minutes"]
    readonly_fields = ["policy", "position"]
    inlines = [EscalationTargetInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        pass  # saved with the whole policy by save_related, through policy_save

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        step = form.instance
        specs = _specs_from_rows(step.policy)
        targets: list[TargetSpec] = []
        for formset in formsets:
            for target_form in formset.forms:
                target = target_form.instance
                if formset._should_delete_form(target_form) or not (
                    target.pk or target_form.has_changed()
                ):
                    continue
                targets.append(_target_spec(target))
            _formset_done(formset)
        delay = form.cleaned_data["delay_minutes"]
        specs[step.pk] = StepSpec(delay_minutes=delay, targets=targets)
        actor_id = engineer_id_for_user(request.user)
        policy_save(policy=step.policy, fields={}, steps=list(specs.values()), actor_id=actor_id)

    def delete_model(self, request: HttpRequest, obj: EscalationStep) -> None:
        specs = _specs_from_rows(obj.policy)
        specs.pop(obj.pk)
        policy_save(
            policy=obj.policy,
            fields={},
            steps=list(specs.values()),
            actor_id=engineer_id_for_user(request.user),
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[EscalationStep]) -> None:
        for step in queryset.select_related("policy"):
            self.delete_model(request, step)


@admin.register(ChangeEvent)
class ChangeEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Changes sent to ``/v2/change/enqueue``: recorded, never edited here."""

    list_display = ["occurred_at", "service", "summary", "source", "integration"]
    list_filter = ["service"]
    search_fields = ["summary", "source"]
    date_hierarchy = "occurred_at"
    readonly_fields = [f.name for f in ChangeEvent._meta.get_fields() if f.concrete]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "purpose",
        "kind",
        "destination",
        "status",
        "due_at",
        "sent_at",
        "incident_link",
    ]
    list_filter = ["status", "purpose", "kind"]
    search_fields = ["destination", "idempotency_key"]
    readonly_fields = [f.name for f in Message._meta.get_fields() if f.concrete]

    @admin.display(description="Incident")
    def incident_link(self, obj: Message) -> str:
        if not obj.incident_id:
            return ""
        url = reverse("admin:paging_incident_change", args=[obj.incident_id])
        return format_html('<a href="{}">#{}</a>', url, obj.incident_id)


@admin.register(EngineHeartbeat)
class EngineHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "last_tick_at", "last_tick_ms", "processed"]


@admin.register(EngineStep)
class EngineStepAdmin(admin.ModelAdmin):
    """Read-only: the engine writes these rows; staff read the full error text here."""

    list_display = ["name", "failing", "failures_total", "last_error_class", "last_failed_at"]
    readonly_fields = [
        "name",
        "failures_total",
        "last_error_class",
        "last_error",
        "last_failed_at",
        "last_ok_at",
    ]

    @admin.display(boolean=True)
    def failing(self, obj: EngineStep) -> bool:
        return obj.failing

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: EngineStep | None = None) -> bool:
        return False


from paging import admin_incidents  # noqa: E402,F401  (registers the incident pages)
