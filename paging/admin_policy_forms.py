"""Forms of the policy and service pages: a step with its targets on one form (numbered
from 1, "wait N min, then step N+1"), and urgency rules as one choice per severity."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from oncall.channel_registry import TargetKind, target_kind, target_kinds
from oncall.people.models import Engineer, Team
from paging.models import (
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
    Integration,
    Service,
    UnresolvedStep,
)
from paging.models.services import DEFAULT_URGENCY_RULES, SEVERITIES, URGENCIES
from paging.people_targets import ENGINEER, SCHEDULE, TEAM_ALL, TEAM_ROUND_ROBIN
from paging.policy_writes import (
    PolicyError,
    StepSpec,
    TargetSpec,
    UnresolvedSpec,
    target_spec_check,
)
from paging.priorities import PriorityInvalid, priority_parse
from schedules.models import Schedule

# "kind:id" values of the targets choice (people targets); channel targets (a Slack
# channel…) take addresses, one text field per registered kind.
REFERENCE_KINDS = {
    ENGINEER: "engineer_id",
    SCHEDULE: "schedule_id",
    TEAM_ALL: "team_id",
    TEAM_ROUND_ROBIN: "team_id",
}


def address_target_kinds() -> list[TargetKind]:
    """The registered target kinds that take an address (a Slack channel, a PagerDuty
    service…), in registration order."""
    return [kind for kind in target_kinds() if kind.reference == "address"]


def address_field(kind: TargetKind) -> str:
    """The step form's field of an address kind: ``slack_channels``, ``pagerduty_services``."""
    return f"{kind.name}s"


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
    if target.kind == ENGINEER:
        return str(target.engineer)
    if target.kind == SCHEDULE:
        return f"on call in {target.schedule}"
    if target.kind == TEAM_ALL:
        return f"everyone in {target.team}"
    if target.kind == TEAM_ROUND_ROBIN:
        return f"round robin in {target.team}"
    kind = target_kind(target.kind)
    # Staff read the whole address here (the form shows it too), a routing key included.
    return f"{kind.label if kind else target.kind} {target.address}"


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


def unresolved_sentence(step: UnresolvedStep) -> str:
    """ "Not resolved after 30 min — notify Carol (P1, P2 only), even if acknowledged"."""
    who = {
        ENGINEER: lambda: str(step.engineer),
        SCHEDULE: lambda: f"on call in {step.schedule}",
        TEAM_ALL: lambda: f"everyone in {step.team}",
    }.get(step.kind, lambda: f"Slack channel {step.address}")()
    limits = [", ".join(f"P{p}" for p in step.priorities.split(",")) if step.priorities else ""]
    limits.append(f"{step.urgency} urgency" if step.urgency else "")
    only = " and ".join(x for x in limits if x)
    return f"Not resolved after {step.after_minutes} min — notify {who}" + (
        f" ({only} only)" if only else ""
    )


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
        cast(forms.MultipleChoiceField, self.fields["targets"]).choices = target_choices()
        step = self.instance
        if step.pk:
            self.fields["number"].initial = step.position + 1
            rows = list(step.targets.order_by("id"))
            self.fields["targets"].initial = [
                f"{t.kind}:{getattr(t, REFERENCE_KINDS[t.kind])}"
                for t in rows
                if t.kind in REFERENCE_KINDS
            ]
            for kind in address_target_kinds():
                self.fields[address_field(kind)].initial = ", ".join(
                    t.address for t in rows if t.kind == kind.name
                )

    def step_spec(self) -> StepSpec:
        """The step as ``policy_save`` takes it, targets in the order shown."""
        data = self.cleaned_data
        targets = []
        for value in data.get("targets") or []:
            kind, _, pk = value.partition(":")
            ref: dict[str, Any] = {REFERENCE_KINDS[kind]: int(pk)}
            targets.append(TargetSpec(kind=kind, **ref))
        for kind in address_target_kinds():
            for address in (a.strip() for a in (data.get(address_field(kind)) or "").split(",")):
                if address:
                    targets.append(TargetSpec(kind=kind.name, address=address))
        return StepSpec(delay_minutes=data["delay_minutes"], targets=targets)


def step_form_class() -> type[StepForm]:
    """``StepForm`` with a text field per address target kind registered now (declared on
    the class: the admin's formset names its fields)."""
    fields = {
        address_field(kind): forms.CharField(
            label=f"{kind.label}s",
            required=False,
            help_text=(f"{kind.address_help}s" if kind.address_help else "addresses")
            + ", comma separated (optional)",
        )
        for kind in address_target_kinds()
    }
    return type("StepForm", (StepForm,), fields)


class UnresolvedStepForm(forms.ModelForm):
    """An unresolved step: one target (a person, a schedule's on-call, a team, or a Slack
    channel), optionally only for some priorities or one urgency."""

    class Meta:
        model = UnresolvedStep
        fields = [
            "after_minutes",
            "kind",
            "engineer",
            "team",
            "schedule",
            "address",
            "priorities",
            "urgency",
        ]
        labels = {
            "after_minutes": "Not resolved after (minutes)",
            "kind": "Notify",
            "address": "Slack channel",
            "priorities": "Only for priorities",
        }
        help_texts = {
            "after_minutes": "counted from the trigger; runs even once acknowledged",
            "priorities": "e.g. P1, P2 (empty: any)",
            "address": "channel id (Slack channel only)",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.priorities:
            # Shown as people write them ("P1, P2"), stored as levels ("1,2").
            self.initial["priorities"] = ", ".join(
                f"P{p}" for p in self.instance.priorities.split(",")
            )

    def clean_priorities(self) -> str:
        levels = []
        for part in (self.cleaned_data.get("priorities") or "").split(","):
            if not part.strip():
                continue
            try:
                level = priority_parse(part.strip())
            except PriorityInvalid as exc:
                raise forms.ValidationError(str(exc)) from None
            if level is not None:
                levels.append(level)
        return ",".join(str(p) for p in sorted(set(levels)))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if kind:
            spec = self.unresolved_spec()
            try:
                target_spec_check(spec.target, "unresolved")
            except PolicyError as exc:
                field = exc.path.rpartition(".")[2].removesuffix("_id")
                # A problem with no field of this form goes on the form as a whole.
                self.add_error(field if field in self.fields else None, exc.problem)
        return data

    def unresolved_spec(self) -> UnresolvedSpec:
        data = self.cleaned_data
        kind = data["kind"]

        def pk(name: str) -> int | None:
            value = data.get(name)
            return value.pk if value is not None else None

        return UnresolvedSpec(
            after_minutes=data["after_minutes"],
            target=TargetSpec(
                kind=kind,
                engineer_id=pk("engineer"),
                team_id=pk("team"),
                schedule_id=pk("schedule"),
                address=(data.get("address") or "").strip(),
            ),
            priorities=tuple(int(p) for p in (data.get("priorities") or "").split(",") if p),
            urgency=data.get("urgency") or "",
        )


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


class IntegrationForm(forms.ModelForm):
    """An integration (its own page and the service page's inline)."""

    # One ARN a line, not a JSON list in a box (the model's validator still checks each).
    sns_topic_arns = forms.CharField(
        label="SNS topic ARNs",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Amazon SNS only: the topics accepted, one ARN a line, e.g."
        " arn:aws:sns:us-east-1:123456789012:oncall-alarms. Other topics are refused.",
    )

    class Meta:
        model = Integration
        fields = ["service", "kind", "name", "grouping", "rate_limit_per_minute", "sns_topic_arns"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        topics = self.initial.get("sns_topic_arns")
        if isinstance(topics, list):
            self.initial["sns_topic_arns"] = "\n".join(str(topic) for topic in topics)

    def clean_sns_topic_arns(self) -> list[str]:
        # An emptied box means "no topics", not NULL (the column is NOT NULL).
        text = self.cleaned_data.get("sns_topic_arns") or ""
        return [line.strip() for line in text.splitlines() if line.strip()]
