"""Escalation policies: ordered steps, each paging some targets, repeated N times."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from oncall.channel_registry import target_kind_choices


class EscalationPolicy(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    team = models.ForeignKey(
        "oncall.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="escalation_policies",
    )
    # Run the whole policy again this many times after the last step (0 = once).
    repeat = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    # The version new incidents start with (``paging.policy_versions``); None until the
    # policy is first saved through ``policy_save`` or first used by the engine.
    current_version = models.ForeignKey(
        "paging.EscalationPolicyVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "escalation policies"

    def __str__(self) -> str:
        return self.name


class EscalationPolicyVersion(models.Model):
    """An immutable snapshot of a policy's steps, shared by every incident started under it.

    The step and target rows are the policy as it is edited now; the engine runs an
    incident from the snapshot it started with, so an edit cannot move an incident in
    flight (``paging/policy_versions.py``). A new version is written only when the
    steps or ``repeat`` change.
    """

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    repeat = models.PositiveIntegerField(default=0)
    # [{"delay_minutes": 15, "targets": [{"id", "kind", "engineer", "team", "schedule",
    #   "address"}]}]; "id" is the EscalationTarget row (its round-robin cursor).
    steps = models.JSONField(default=list)
    # The "if not resolved N minutes after the trigger, notify X" steps (``UnresolvedStep``):
    # [{"after_minutes", "kind", "engineer", "team", "schedule", "address", "priorities",
    #   "urgency"}], ordered by after_minutes then row.
    unresolved = models.JSONField(default=list)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        "oncall.Engineer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["policy", "number"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "number"], name="uniq_policy_version")
        ]

    def __str__(self) -> str:
        return f"{self.policy} v{self.number}"


class EscalationStep(models.Model):
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    # Minutes to wait for an ack after this step before running the next one.
    delay_minutes = models.PositiveIntegerField(default=15)

    class Meta:
        ordering = ["policy", "position"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="uniq_step_position")
        ]

    def __str__(self) -> str:
        return f"{self.policy} step {self.position + 1}"


def _one_reference(field: str) -> Q:
    """``field`` is set and the target's other references are empty."""
    condition = ~Q(address="") if field == "address" else Q(address="")
    for other in ("engineer", "team", "schedule"):
        condition &= Q(**{f"{other}__isnull": other != field})
    return condition


def _one_reference_check(name: str) -> models.CheckConstraint:
    """Exactly one of engineer, team, schedule and address is set (escalation targets
    and unresolved steps name whom they reach the same way)."""
    return models.CheckConstraint(
        name=name,
        condition=_one_reference("engineer")
        | _one_reference("team")
        | _one_reference("schedule")
        | _one_reference("address"),
    )


class EscalationTarget(models.Model):
    """Who a step pages. Each kind uses exactly one of the reference fields.

    The kinds are registered (``oncall.channel_registry.TargetKind``: paging's people
    targets, and the channels' own, such as a Slack channel or a PagerDuty service) and
    say which field they use; channel targets keep their address in ``address``, so a
    new kind needs no schema change. The database holds that exactly one reference is
    set; which one a kind uses is checked by ``policy_save``.
    """

    step = models.ForeignKey(EscalationStep, on_delete=models.CASCADE, related_name="targets")
    kind = models.CharField(max_length=24, choices=target_kind_choices)
    engineer = models.ForeignKey(
        "oncall.Engineer", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    team = models.ForeignKey(
        "oncall.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    schedule = models.ForeignKey(
        "schedules.Schedule", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    address = models.CharField(max_length=255, blank=True)  # slack channel id, PD routing key
    # Round-robin position: the next member index (advanced with a conditional update).
    rr_cursor = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["step", "id"]
        constraints = [_one_reference_check("target_one_reference")]

    def __str__(self) -> str:
        ref = self.engineer or self.team or self.schedule or self.address
        return f"{self.get_kind_display()}: {ref}"


# Who an unresolved step may notify: people (through their low-urgency ladder) or a Slack
# channel. No round-robin (a notice is not a page to take turns on), no PagerDuty.
UNRESOLVED_TARGET_KINDS = ("engineer", "schedule", "team_all", "slack_channel")


class UnresolvedStep(models.Model):
    """ "If the incident is not resolved ``after_minutes`` after its trigger, notify X."

    Unlike an escalation step it runs after an acknowledgement too, and it sends a
    notice (no ack loop): through each person's low-urgency ladder start, or to a Slack
    channel (``paging/notices.py``). Part of the policy's versions, like the steps.
    """

    policy = models.ForeignKey(
        EscalationPolicy, on_delete=models.CASCADE, related_name="unresolved_steps"
    )
    after_minutes = models.PositiveIntegerField()
    kind = models.CharField(
        max_length=24,
        choices=[
            ("engineer", "Engineer"),
            ("schedule", "Schedule's current on-call"),
            ("team_all", "All members of a team"),
            ("slack_channel", "Slack channel"),
        ],
    )
    engineer = models.ForeignKey(
        "oncall.Engineer", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    team = models.ForeignKey(
        "oncall.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    schedule = models.ForeignKey(
        "schedules.Schedule", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    address = models.CharField(max_length=255, blank=True)  # a Slack channel id
    # Only for incidents of these priorities ("1,2"; empty: any, ungraded included).
    priorities = models.CharField(max_length=16, blank=True)
    # Only for this urgency ("": any).
    urgency = models.CharField(
        max_length=8, blank=True, choices=[("", "any"), ("high", "high"), ("low", "low")]
    )

    class Meta:
        ordering = ["policy", "after_minutes", "id"]
        constraints = [_one_reference_check("unresolved_one_reference")]

    def __str__(self) -> str:
        ref = self.engineer or self.team or self.schedule or self.address
        return f"after {self.after_minutes} min: {self.get_kind_display()} {ref}"
