"""Alert rules in the admin: inline on the integration's page (one rule a form, conditions
and links one per line, numbered from 1 in the order they run), a "test these rules
against a sample alert" box under them, and the inhibit rules' own pages.

Every save goes through ``paging.rule_writes`` (``alert_rules_save`` for the whole
list of an integration, ``inhibit_rule_save`` / ``_delete``); problems are the shared
readers' (``paging.rules_spec``), shown on the field they are about.
"""

from __future__ import annotations

import re
from typing import Any, cast

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from oncall.audit.admin_mixins import DeleteEachMixin
from paging.inbound.body import BodyInvalid, json_object_decode
from paging.models import AlertRule, InhibitRule, Integration, Service
from paging.models.services import SEVERITIES, URGENCIES
from paging.priorities import priority_levels
from paging.rule_writes import (
    alert_rules_save,
    calendar_exists,
    inhibit_rule_delete,
    inhibit_rule_save,
)
from paging.rules_explain import SampleInvalid, rules_try, sample_events
from paging.rules_spec import (
    RuleError,
    RuleSpec,
    inhibit_data,
    inhibit_parse,
    rule_parse,
    rule_spec_of,
)
from paging.rules_text import conditions_from_text, conditions_text, links_from_text, links_text

CONDITIONS_HELP = (
    'one per line: service="postgresql" · severity!="info" · instance=~"db-.*" · '
    'env in "prod", "staging" · runbook exists · '
    "in business hours mon-fri 08:00-18:00 Europe/Berlin except holidays of Germany · "
    "outside business hours … (a name with a dot is a field path: annotations.summary; "
    "alert.severity is the parsed severity). None: every alert."
)
LINKS_HELP = "one per line: Text | https://runbooks.example.com/{{ labels.alertname }}"

# "rules[0].conditions[2].value" -> the form field and the line it is about.
_PATH = re.compile(r"^(?:rules\[\d+\]\.)?(?P<part>[a-z_]+)(?:\[(?P<n>\d+)\])?(?:\.(?P<rest>.*))?$")
_FORM_FIELD = {
    "name": "name",
    "match": "match",
    "conditions": "conditions_text",
    "actions": None,
}
_ACTION_FIELD = {
    "service": "route_service",
    "severity": "set_severity",
    "priority": "set_priority",
    "urgency": "set_urgency",
    "links": "links_text",
    "dedup_key": "dedup_key",
}


def _where(exc: RuleError) -> tuple[str | None, str]:
    """The form field a RuleError is about, and its message (naming the line)."""
    found = _PATH.match(exc.path)
    if found is None:
        return None, exc.problem
    part, n, rest = found.group("part"), found.group("n"), found.group("rest") or ""
    line = f"line {int(n) + 1}: " if n is not None else ""
    if part == "conditions":
        return "conditions_text", f"{line}{exc.problem}"
    if part == "actions":
        action = rest.split(".")[0].split("[")[0]
        link = re.match(r"links\[(\d+)\]", rest)
        prefix = f"line {int(link.group(1)) + 1}: " if link else ""
        return _ACTION_FIELD.get(action), f"{prefix}{exc.problem}"
    return _FORM_FIELD.get(part), exc.problem


class AlertRuleForm(forms.ModelForm):
    number = forms.IntegerField(
        label="Rule",
        min_value=1,
        help_text="rules run in this order, from 1",
        widget=forms.NumberInput(attrs={"size": 3}),
    )
    conditions_text = forms.CharField(
        label="When",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60, "class": "rule-lines"}),
        help_text=CONDITIONS_HELP,
    )
    set_priority = forms.TypedChoiceField(
        label="Set priority",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "—")],  # the levels in use, set per form
    )
    links_text = forms.CharField(
        label="Add links",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60, "class": "rule-lines"}),
        help_text=LINKS_HELP,
    )

    class Meta:
        model = AlertRule
        fields = [
            "name",
            "enabled",
            "match",
            "continue_matching",
            "route_service",
            "set_severity",
            "set_urgency",
            "suppress",
            "dedup_key",
        ]
        labels = {
            "match": "Match",
            "continue_matching": "Continue",
            "route_service": "Route to service",
            "set_severity": "Set severity",
            "set_urgency": "Set urgency",
            "suppress": "Suppress",
            "dedup_key": "Dedup key",
        }
        help_texts = {
            "continue_matching": "after this rule matches, try the next rules too "
            "(else the first rule that matches decides)",
            "route_service": "its escalation policy pages",
            "suppress": "record the incident, page nobody",
            "dedup_key": "template, e.g. {{ labels.instance }}: one incident per instance",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rule = self.instance
        # The fields are declared above with these types; the stubs type `fields` as Field.
        cast(
            forms.ModelChoiceField, self.fields["route_service"]
        ).queryset = Service.objects.order_by("name")
        choices = {
            "set_severity": [("", "—"), *[(s, s) for s in SEVERITIES]],
            "set_urgency": [("", "—"), *[(u, u) for u in URGENCIES]],
            "set_priority": [("", "—"), *[(str(v.level), v.label) for v in priority_levels()]],
        }
        for name, options in choices.items():
            cast(forms.ChoiceField, self.fields[name]).choices = options
        if rule.pk:
            self.fields["number"].initial = rule.position + 1
            self.fields["conditions_text"].initial = conditions_text(rule.conditions)
            self.fields["links_text"].initial = links_text(rule.links)
            self.fields["set_priority"].initial = rule.set_priority

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.errors:
            return data
        raw = {
            "name": data.get("name") or "",
            "enabled": bool(data.get("enabled")),
            "match": data.get("match") or "all",
            "conditions": conditions_from_text(data.get("conditions_text") or ""),
            "continue": bool(data.get("continue_matching")),
            "actions": {
                "service": data["route_service"].pk if data.get("route_service") else None,
                "severity": data.get("set_severity") or "",
                "priority": data.get("set_priority"),
                "urgency": data.get("set_urgency") or "",
                "suppress": bool(data.get("suppress")),
                "links": links_from_text(data.get("links_text") or ""),
                "dedup_key": data.get("dedup_key") or "",
            },
        }
        try:
            self.spec = rule_parse(
                raw,
                "rule",
                service_for=lambda pk: Service.objects.filter(pk=pk).first(),
                calendars=calendar_exists,
            )
        except RuleError as exc:
            exc.path = exc.path.removeprefix("rule.")
            field, message = _where(exc)
            self.add_error(field if field in self.fields else None, message)
        return data

    def rule_spec(self) -> RuleSpec:
        return self.spec


class AlertRuleInline(admin.StackedInline):
    model = AlertRule
    form = AlertRuleForm
    extra = 0
    # Short choices side by side; the line boxes full width.
    fieldsets = [
        (None, {"fields": [("number", "enabled"), "name", "match", "conditions_text"]}),
        (
            "Then",
            {
                "fields": [
                    "route_service",
                    ("set_severity", "set_priority", "set_urgency"),
                    "suppress",
                    "links_text",
                    "dedup_key",
                    "continue_matching",
                ]
            },
        ),
    ]
    verbose_name = "alert rule"
    verbose_name_plural = (
        "Alert rules (in order: the first that matches decides, unless it says continue)"
    )

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).order_by("position", "id")


def integration_rules_save_from_admin(integration: Integration, formsets: Any) -> None:
    """The inline forms as one ordered list, saved through ``alert_rules_save``."""
    rules: list[tuple[int, int, RuleSpec]] = []
    seen = False
    for formset in formsets:
        if formset.model is not AlertRule:
            continue
        seen = True
        for i, form in enumerate(formset.forms):
            if formset._should_delete_form(form) or not (form.instance.pk or form.has_changed()):
                continue
            rules.append((form.cleaned_data["number"], i, form.rule_spec()))
        # The admin's change message reads what formset.save() would have set.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    if seen:
        rules.sort(key=lambda item: item[:2])
        alert_rules_save(integration=integration, specs=[spec for *_, spec in rules])


# --- the test box ---------------------------------------------------------------------


class RulesTestForm(forms.Form):
    sample = forms.CharField(
        label="Sample alert (JSON, as the alert source sends it)",
        widget=forms.Textarea(attrs={"rows": 12, "cols": 80, "class": "rule-sample"}),
    )

    def clean_sample(self) -> Any:
        # The inbound endpoints' own decoder: the same limits (depth, finite numbers) as
        # a real delivery, and 5,000 levels of nesting is an error, not a RecursionError.
        try:
            return json_object_decode(self.cleaned_data["sample"].encode("utf-8", "replace"))
        except BodyInvalid as exc:
            raise forms.ValidationError(str(exc)) from None


def rules_test_view(request: HttpRequest, integration_id: int, admin_site: Any) -> HttpResponse:
    """POST: run the saved rules over the sample; the page shows the outcome per alert."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    integration = get_object_or_404(
        Integration.objects.select_related("service"), pk=integration_id
    )
    form = RulesTestForm(request.POST)
    trials: list[Any] = []
    status = 200
    if form.is_valid():
        rows = integration.rules.select_related("route_service").order_by("position", "id")
        try:
            events = sample_events(integration.kind, form.cleaned_data["sample"])
            specs = [rule_spec_of(rule) for rule in rows]
            trials = rules_try(integration=integration, specs=specs, events=events)
        except SampleInvalid as exc:
            for error in exc.errors:
                form.add_error("sample", error)
    if not form.is_valid():
        status = 400
    context = {
        **admin_site.each_context(request),
        "opts": Integration._meta,
        "title": f"Test the alert rules of {integration}",
        "integration": integration,
        "form": form,
        "trials": trials,
        "is_nav_sidebar_enabled": False,
    }
    return TemplateResponse(
        request, "admin/paging/integration/rules_test.html", context, status=status
    )


def rules_test_urls(model_admin: admin.ModelAdmin) -> list[URLPattern]:
    def view(request: HttpRequest, integration_id: int) -> HttpResponse:
        return rules_test_view(request, integration_id, model_admin.admin_site)

    return [
        path(
            "<int:integration_id>/rules-test/",
            model_admin.admin_site.admin_view(view),
            name="paging_integration_rules_test",
        )
    ]


SAMPLE_HINT = {
    Integration.Kind.ALERTMANAGER: "an Alertmanager webhook message (version 4)",
    Integration.Kind.PAGERDUTY: "a PagerDuty Events API v2 event",
    Integration.Kind.WEBHOOK: "a generic webhook event",
    Integration.Kind.GRAFANA: "a Grafana Alerting webhook message",
    Integration.Kind.SNS: "an Amazon SNS notification of a CloudWatch alarm"
    " (its signature is not checked here)",
}


# --- inhibit rules ----------------------------------------------------------------------


class InhibitRuleForm(forms.ModelForm):
    source_text = forms.CharField(
        label="While an alert fires that matches",
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60, "class": "rule-lines"}),
        help_text='one matcher per line, e.g. severity="critical"',
    )
    target_text = forms.CharField(
        label="New alerts that match",
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60, "class": "rule-lines"}),
        help_text='one matcher per line, e.g. severity="warning"',
    )
    equal_text = forms.CharField(
        label="With the same values of",
        required=False,
        help_text="label names, comma separated, e.g. instance, cluster",
    )

    class Meta:
        model = InhibitRule
        fields = ["name", "description", "enabled"]
        help_texts = {
            "enabled": "off: nothing is held (what it held pages now)",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rule = self.instance
        if rule.pk:
            data = inhibit_data(rule)
            self.fields["source_text"].initial = conditions_text(rule.source)
            self.fields["target_text"].initial = conditions_text(rule.target)
            self.fields["equal_text"].initial = ", ".join(data["equal"])

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.errors:
            return data
        raw = {
            "name": data.get("name") or "",
            "description": data.get("description") or "",
            "enabled": bool(data.get("enabled")),
            "source_matchers": conditions_from_text(data.get("source_text") or ""),
            "target_matchers": conditions_from_text(data.get("target_text") or ""),
            "equal": [e.strip() for e in (data.get("equal_text") or "").split(",") if e.strip()],
        }
        try:
            self.spec = inhibit_parse(raw, calendars=calendar_exists)
        except RuleError as exc:
            field = {
                "source_matchers": "source_text",
                "target_matchers": "target_text",
                "equal": "equal_text",
            }.get(exc.path.split("[")[0].split(".")[0])
            line = re.search(r"\[(\d+)\]", exc.path)
            prefix = f"line {int(line.group(1)) + 1}: " if line and field != "equal_text" else ""
            self.add_error(field, f"{prefix}{exc.problem}")
        return data


@admin.register(InhibitRule)
class InhibitRuleAdmin(DeleteEachMixin, admin.ModelAdmin):
    """Saved through ``inhibit_rule_save`` (sources taken again from the alerts firing
    now; incidents it no longer holds page)."""

    form = InhibitRuleForm
    list_display = ["name", "enabled", "summary"]
    # A filter column also keeps Django's action bar inside the list at 1280 px.
    list_filter = ["enabled"]
    fields = ["name", "description", "enabled", "source_text", "target_text", "equal_text"]

    @admin.display(description="What it does")
    def summary(self, obj: InhibitRule) -> str:
        data = inhibit_data(obj)
        equal = ", ".join(data["equal"]) or "(no labels: any)"
        return (
            f"while {conditions_text(obj.source).replace(chr(10), ' and ')} fires, "
            f"hold new {conditions_text(obj.target).replace(chr(10), ' and ')} "
            f"with the same {equal}"
        )

    def save_model(self, request: HttpRequest, obj: InhibitRule, form: Any, change: bool) -> None:
        saved = inhibit_rule_save(rule=obj if obj.pk else None, spec=form.spec)
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: InhibitRule) -> None:
        inhibit_rule_delete(rule=obj)
