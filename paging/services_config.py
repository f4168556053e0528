"""Writing escalation policies with their steps and targets (API and config file)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from paging.models import EscalationPolicy, EscalationStep, EscalationTarget


@dataclass(frozen=True)
class TargetSpec:
    kind: str
    engineer_id: int | None = None
    team_id: int | None = None
    schedule_id: int | None = None
    address: str = ""


@dataclass(frozen=True)
class StepSpec:
    delay_minutes: int
    targets: list[TargetSpec] = field(default_factory=list)


class PolicyError(Exception):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


REFERENCE_FOR_KIND = {
    EscalationTarget.Kind.ENGINEER: "engineer_id",
    EscalationTarget.Kind.SCHEDULE: "schedule_id",
    EscalationTarget.Kind.TEAM_ALL: "team_id",
    EscalationTarget.Kind.TEAM_ROUND_ROBIN: "team_id",
    EscalationTarget.Kind.SLACK_CHANNEL: "address",
    EscalationTarget.Kind.PAGERDUTY_SERVICE: "address",
}


def target_spec_check(spec: TargetSpec, path: str) -> None:
    if spec.kind not in REFERENCE_FOR_KIND:
        raise PolicyError(f"{path}.kind", f"must be one of {', '.join(REFERENCE_FOR_KIND)}")
    needed = REFERENCE_FOR_KIND[spec.kind]
    if not getattr(spec, needed):
        raise PolicyError(f"{path}.{needed}", f"required for a {spec.kind} target")
    for other in ("engineer_id", "team_id", "schedule_id", "address"):
        if other != needed and getattr(spec, other):
            raise PolicyError(f"{path}.{other}", f"not allowed for a {spec.kind} target")


def policy_steps_replace(*, policy: EscalationPolicy, steps: list[StepSpec]) -> None:
    """Replace the policy's steps and targets with ``steps``, in one transaction.

    Round-robin positions survive when the same team target stays at the same step.
    """
    for i, step in enumerate(steps):
        if step.delay_minutes < 0:
            raise PolicyError(f"steps[{i}].delay_minutes", "must be zero or more")
        for j, target in enumerate(step.targets):
            target_spec_check(target, f"steps[{i}].targets[{j}]")
    with transaction.atomic():
        cursors = {
            (t.step.position, t.team_id): t.rr_cursor
            for t in EscalationTarget.objects.filter(
                step__policy=policy, kind=EscalationTarget.Kind.TEAM_ROUND_ROBIN
            ).select_related("step")
        }
        policy.steps.all().delete()
        for position, spec in enumerate(steps):
            step = EscalationStep.objects.create(
                policy=policy, position=position, delay_minutes=spec.delay_minutes
            )
            EscalationTarget.objects.bulk_create(
                [
                    EscalationTarget(
                        step=step,
                        kind=t.kind,
                        engineer_id=t.engineer_id,
                        team_id=t.team_id,
                        schedule_id=t.schedule_id,
                        address=t.address,
                        rr_cursor=cursors.get((position, t.team_id), 0),
                    )
                    for t in spec.targets
                ]
            )


def policy_save(
    *,
    policy: EscalationPolicy | None,
    fields: dict[str, object],
    steps: list[StepSpec] | None,
) -> EscalationPolicy:
    """Create or update a policy (name, description, team, repeat) and, if given, its steps."""
    with transaction.atomic():
        policy = policy or EscalationPolicy()
        for name, value in fields.items():
            setattr(policy, name, value)
        policy.save()
        if steps is not None:
            policy_steps_replace(policy=policy, steps=steps)
    return policy


def step_specs_from_data(data: list[dict]) -> list[StepSpec]:
    """StepSpecs from validated API data ({delay_minutes, targets: [{kind, engineer…}]})."""
    return [
        StepSpec(
            delay_minutes=step["delay_minutes"],
            targets=[
                TargetSpec(
                    kind=t["kind"],
                    engineer_id=t.get("engineer"),
                    team_id=t.get("team"),
                    schedule_id=t.get("schedule"),
                    address=t.get("address", ""),
                )
                for t in step["targets"]
            ],
        )
        for step in data
    ]
