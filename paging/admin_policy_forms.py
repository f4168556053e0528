"""Forms of the policy and service pages: a step with its targets on one form (numbered
from 1, "wait N min, then step N+1"), and urgency rules as one choice per severity."""

from __future__ import annotations

from typing import Any

from django import forms

from oncall.people.models import Engineer, Team
from paging.models import EscalationPolicy, EscalationStep, EscalationTarget, Service
from paging.models.services import DEFAULT_URGENCY_RULES, SEVERITIES, URGENCIES
from paging.policy_writes import StepSpec, TargetSpec
from schedules.models import Schedule

Kind = EscalationTarget.Kind
# "kind:id" values of the targets choice; Slack and PagerDuty take an address instead.
REFERENCE_KINDS = {
    Kind.ENGINEER: "engineer_id",
    Kind.SCHEDULE: "schedule_id",
    Kind.TEAM_ALL: "team_id",
    Kind.TEAM_ROUND_ROBIN: "team_id",
}


def target_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    engineers = Engineer.objects.order_by("display_name").values_list("id", "display_name")
    schedules = Schedule.objects.select_related("team").order_by("team__name", "name")
    teams = list(Team.objects.order_by("name").values_list("id", "name"))
    return [
        ("Engineers", [(f"engineer:{pk}", name) for pk, name in engineers]),
        (
            "Who is on call in a schedule",
            [(f"schedule:{s.pk}", f"on call in {s}") for s in schedules],
        ),
        ("Everyone in a team", [(f"team_all:{pk}", f"everyone in {name}") for pk, name in teams]),
        (
            "One member of a team at a time (round robin)",
            [(f"team_round_robin:{pk}", f"round robin in {name}") for pk, name in teams],
        ),
    ]


def target_label(target: EscalationTarget) -> str:
    if target.kind == Kind.ENGINEER:
        return str(target.engineer)
    if target.kind == Kind.SCHEDULE:
        return f"on call in {target.schedule}"
    if target.kind == Kind.TEAM_ALL:
        return f"everyone in {target.team}"
    if target.kind == Kind.TEAM_ROUND_ROBIN:
        return f"round robin in {target.team}"
    if target.kind == Kind.SLACK_CHANNEL:
        return f"Slack {target.address}"
    return f"PagerDuty service {target.address}"


def step_sentence(step: EscalationStep, count: int, repeat: int) -> str:
    """ "Step 1 — page Alice, on call in Core / Primary; wait 10 min, then step 2"."""
    number = step.position + 1
    targets = ", ".join(target_label(t) for t in step.targets.all()) or "nobody (no targets)"
    if number < count:
        then = f"then step {number + 1}"
    elif repeat:
        then = f"then start again at step 1 (repeats {repeat} more time(s))"
    else:
        then = "then stop (the last step)"
    return f"Step {number} — page {targets}; wait {step.delay_minutes} min, {then}"


class StepForm(forms.ModelForm):
    number = forms.IntegerField(
        label="Step",
        min_value=1,
        help_text="steps run in this order, from 1",
        widget=forms.NumberInput(attrs={"size": 3}),
    )
    targets = forms.MultipleChoiceField(
        label="Page",
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="hold Ctrl (Cmd on a Mac) to choose several",
    )
    slack_channels = forms.CharField(
        label="Slack channels",
        required=False,
        help_text="channel ids, comma separated (optional)",
    )
    pagerduty_services = forms.CharField(
        label="PagerDuty services",
        required=False,
        help_text="routing keys, comma separated (optional)",
    )

    class Meta:
        model = EscalationStep
        fields = ["delay_minutes"]
        labels = {"delay_minutes": "Then wait (minutes)"}
        help_texts = {
            "delay_minutes": "the wait for an acknowledgement after this step's pages, before"
            " the next step runs (after the last step: before the policy repeats or stops)"
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["targets"].choices = target_choices()
        step = self.instance
        if step.pk:
            self.fields["number"].initial = step.position + 1
            rows = list(step.targets.order_by("id"))
            self.fields["targets"].initial = [
                f"{t.kind}:{getattr(t, REFERENCE_KINDS[t.kind])}"
                for t in rows
                if t.kind in REFERENCE_KINDS
            ]
            for name, kind in (
                ("slack_channels", Kind.SLACK_CHANNEL),
                ("pagerduty_services", Kind.PAGERDUTY_SERVICE),
            ):
                self.fields[name].initial = ", ".join(t.address for t in rows if t.kind == kind)

    def step_spec(self) -> StepSpec:
        """The step as ``policy_save`` takes it, targets in the order shown."""
        data = self.cleaned_data
        targets = []
        for value in data.get("targets") or []:
            kind, _, pk = value.partition(":")
            targets.append(TargetSpec(kind=kind, **{REFERENCE_KINDS[Kind(kind)]: int(pk)}))
        for name, kind in (
            ("slack_channels", Kind.SLACK_CHANNEL),
            ("pagerduty_services", Kind.PAGERDUTY_SERVICE),
        ):
            for address in (a.strip() for a in (data.get(name) or "").split(",")):
                if address:
                    targets.append(TargetSpec(kind=kind, address=address))
        return StepSpec(delay_minutes=data["delay_minutes"], targets=targets)


class PolicyForm(forms.ModelForm):
    class Meta:
        model = EscalationPolicy
        fields = ["name", "description", "team", "repeat"]
        labels = {"repeat": "Repeat the policy"}
        help_texts = {
            "repeat": "how many more times to run all steps again after the last one (0 = once)"
        }


def _urgency_field(severity: str) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=f"Severity '{severity}' pages as",
        choices=[(u, f"{u} urgency") for u in URGENCIES],
        initial=DEFAULT_URGENCY_RULES.get(severity, "high"),
    )


class ServiceForm(forms.ModelForm):
    """Urgency rules as one choice per severity instead of a JSON box."""

    urgency_critical = _urgency_field("critical")
    urgency_error = _urgency_field("error")
    urgency_warning = _urgency_field("warning")
    urgency_info = _urgency_field("info")

    class Meta:
        model = Service
        fields = [
            "name",
            "description",
            "team",
            "escalation_policy",
            "ack_timeout_minutes",
            "low_urgency_business_hours_only",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rules = {**DEFAULT_URGENCY_RULES, **(self.instance.urgency_rules or {})}
        for severity in SEVERITIES:
            self.fields[f"urgency_{severity}"].initial = rules.get(severity, "high")

    def save(self, commit: bool = True) -> Service:
        self.instance.urgency_rules = {s: self.cleaned_data[f"urgency_{s}"] for s in SEVERITIES}
        return super().save(commit=commit)


URGENCY_FIELDS = [f"urgency_{s}" for s in SEVERITIES]
