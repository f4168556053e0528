"""Writing escalation policies and their steps (API, admin, config file). Each write is
recorded in the audit trail. Services, integrations and maintenance windows:
``paging.service_writes``."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from oncall.audit.services import audit_record, audit_snapshot, audited_delete
from oncall.channel_registry import target_kind, target_kinds
from paging.models import (
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
    UnresolvedStep,
)
from paging.models.policies import UNRESOLVED_TARGET_KINDS
from paging.models.services import URGENCIES
from paging.people_targets import TEAM_ROUND_ROBIN
from paging.policy_versions import policy_version_current


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


@dataclass(frozen=True)
class UnresolvedSpec:
    """ "Not resolved ``after_minutes`` after the trigger: notify this target" (a notice
    through a person's low-urgency ladder start, or a Slack channel post)."""

    after_minutes: int
    target: TargetSpec
    # Only for these priority levels (empty: any) and this urgency ("": any).
    priorities: tuple[int, ...] = ()
    urgency: str = ""


class PolicyError(Exception):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


REFERENCES = ("engineer_id", "team_id", "schedule_id", "address")


def target_reference(kind: str) -> str | None:
    """The ``TargetSpec`` field a target of ``kind`` names its target by (``engineer_id``,
    ``team_id``, ``schedule_id`` or ``address``); None for a kind nobody registered."""
    registered = target_kind(kind)
    if registered is None:
        return None
    return "address" if registered.reference == "address" else f"{registered.reference}_id"


def target_spec_check(spec: TargetSpec, path: str) -> None:
    needed = target_reference(spec.kind)
    if needed is None:
        kinds = ", ".join(k.name for k in target_kinds())
        raise PolicyError(f"{path}.kind", f"must be one of {kinds}")
    if not getattr(spec, needed):
        raise PolicyError(f"{path}.{needed}", f"required for a {spec.kind} target")
    for other in REFERENCES:
        if other != needed and getattr(spec, other):
            raise PolicyError(f"{path}.{other}", f"not allowed for a {spec.kind} target")


def _spec_check(steps: list[StepSpec]) -> None:
    for i, step in enumerate(steps):
        if step.delay_minutes < 0:
            raise PolicyError(f"steps[{i}].delay_minutes", "must be zero or more")
        for j, target in enumerate(step.targets):
            target_spec_check(target, f"steps[{i}].targets[{j}]")


MAX_UNRESOLVED_MINUTES = 30 * 24 * 60


def _unresolved_check(unresolved: list[UnresolvedSpec]) -> None:
    for i, spec in enumerate(unresolved):
        path = f"unresolved[{i}]"
        if not 1 <= spec.after_minutes <= MAX_UNRESOLVED_MINUTES:
            raise PolicyError(
                f"{path}.after_minutes", f"must be 1 to {MAX_UNRESOLVED_MINUTES} minutes"
            )
        if spec.target.kind not in UNRESOLVED_TARGET_KINDS:
            kinds = ", ".join(UNRESOLVED_TARGET_KINDS)
            raise PolicyError(f"{path}.kind", f"must be one of {kinds}")
        target_spec_check(spec.target, path)
        bad = [p for p in spec.priorities if not 1 <= p <= 5]
        if bad:
            raise PolicyError(f"{path}.priorities", f"levels are 1 to 5, not {bad[0]}")
        if spec.urgency and spec.urgency not in URGENCIES:
            raise PolicyError(f"{path}.urgency", f"must be one of {', '.join(URGENCIES)} or empty")


def _unresolved_write(*, policy: EscalationPolicy, unresolved: list[UnresolvedSpec]) -> None:
    """Replace the policy's unresolved steps (no state lives on these rows)."""
    UnresolvedStep.objects.filter(policy=policy).delete()
    UnresolvedStep.objects.bulk_create(
        [
            UnresolvedStep(
                policy=policy,
                after_minutes=u.after_minutes,
                kind=u.target.kind,
                engineer_id=u.target.engineer_id,
                team_id=u.target.team_id,
                schedule_id=u.target.schedule_id,
                address=u.target.address,
                priorities=",".join(str(p) for p in sorted(set(u.priorities))),
                urgency=u.urgency,
            )
            for u in unresolved
        ]
    )


def _identity(t: EscalationTarget | TargetSpec) -> tuple:
    if isinstance(t, TargetSpec):
        return (t.kind, t.engineer_id or None, t.team_id or None, t.schedule_id or None, t.address)
    return (t.kind, t.engineer_id, t.team_id, t.schedule_id, t.address)


def _steps_write(*, policy: EscalationPolicy, steps: list[StepSpec]) -> None:
    """Make the policy's step and target rows say ``steps``, changing only what differs.

    Rows are updated in place (a step keeps its row at its position; targets that stay
    keep their rows, so round-robin cursors survive). Open incidents do not read these
    rows (they run their version), so nothing here moves an incident in flight.
    """
    existing = {
        s.position: s
        for s in EscalationStep.objects.filter(policy=policy).prefetch_related("targets")
    }
    removed: list[EscalationTarget] = []
    new_targets: list[tuple[EscalationStep, TargetSpec]] = []
    for position, spec in enumerate(steps):
        step = existing.pop(position, None)
        if step is None:
            step = EscalationStep.objects.create(
                policy=policy, position=position, delay_minutes=spec.delay_minutes
            )
            old: list[EscalationTarget] = []
        else:
            if step.delay_minutes != spec.delay_minutes:
                step.delay_minutes = spec.delay_minutes
                step.save(update_fields=["delay_minutes"])
            old = list(step.targets.all())
        # Keep the longest common prefix: the targets keep their order (rows are ordered
        # by id), and an unchanged step keeps all of its rows.
        keep = 0
        while (
            keep < len(old)
            and keep < len(spec.targets)
            and _identity(old[keep]) == _identity(spec.targets[keep])
        ):
            keep += 1
        removed.extend(old[keep:])
        new_targets.extend((step, t) for t in spec.targets[keep:])
    for step in existing.values():  # positions past the new last step
        removed.extend(step.targets.all())
    # A round-robin over a team that moved to another step keeps its place in the team.
    cursors = {t.team_id: t.rr_cursor for t in removed if t.kind == TEAM_ROUND_ROBIN}
    EscalationTarget.objects.filter(pk__in=[t.pk for t in removed]).delete()
    EscalationStep.objects.filter(pk__in=[s.pk for s in existing.values()]).delete()
    EscalationTarget.objects.bulk_create(
        [
            EscalationTarget(
                step=step,
                kind=t.kind,
                engineer_id=t.engineer_id,
                team_id=t.team_id,
                schedule_id=t.schedule_id,
                address=t.address,
                rr_cursor=cursors.get(t.team_id, 0) if t.kind == TEAM_ROUND_ROBIN else 0,
            )
            for step, t in new_targets
        ]
    )


def policy_save(
    *,
    policy: EscalationPolicy | None,
    fields: dict[str, object],
    steps: list[StepSpec] | None,
    actor_id: int | None = None,
    unresolved: list[UnresolvedSpec] | None = None,
) -> EscalationPolicy:
    """Create or update a policy (name, description, team, repeat) and, if given, its steps
    and its unresolved steps (each list replaces the whole; None: left as it is).

    The one write path of a policy (API, admin, config file). When the steps or
    ``repeat`` change, a new version is written: new incidents take it, open ones keep
    theirs (``paging.policy_versions``).
    """
    if steps is not None:
        _spec_check(steps)
    if unresolved is not None:
        _unresolved_check(unresolved)
    with transaction.atomic():
        policy = policy or EscalationPolicy()
        before = audit_snapshot(policy)
        for name, value in fields.items():
            setattr(policy, name, value)
        policy.save()
        if steps is not None:
            _steps_write(policy=policy, steps=steps)
        if unresolved is not None and unresolved != unresolved_specs_of(policy):
            _unresolved_write(policy=policy, unresolved=unresolved)
        policy_version_current(policy_id=policy.pk, actor_id=actor_id)
        policy.refresh_from_db(fields=["current_version"])
        audit_record("update" if before else "create", policy, before=before)
    return policy


def policy_delete(*, policy: EscalationPolicy) -> None:
    """Delete a policy (its services keep running without one; incidents keep their version)."""
    with transaction.atomic():
        audited_delete(policy)


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


def unresolved_specs_of(policy: EscalationPolicy) -> list[UnresolvedSpec]:
    """The policy's unresolved steps as specs, in their order."""
    if policy.pk is None:
        return []
    return [
        UnresolvedSpec(
            after_minutes=u.after_minutes,
            target=TargetSpec(
                kind=u.kind,
                engineer_id=u.engineer_id,
                team_id=u.team_id,
                schedule_id=u.schedule_id,
                address=u.address,
            ),
            priorities=tuple(int(p) for p in u.priorities.split(",") if p),
            urgency=u.urgency,
        )
        for u in UnresolvedStep.objects.filter(policy=policy).order_by("after_minutes", "id")
    ]


def unresolved_specs_from_data(data: list[dict]) -> list[UnresolvedSpec]:
    """UnresolvedSpecs from validated API/config data ({after_minutes, kind, engineer…,
    priorities: [1, 2], urgency})."""
    return [
        UnresolvedSpec(
            after_minutes=u["after_minutes"],
            target=TargetSpec(
                kind=u["kind"],
                engineer_id=u.get("engineer"),
                team_id=u.get("team"),
                schedule_id=u.get("schedule"),
                address=u.get("address", "") or "",
            ),
            priorities=tuple(sorted(set(u.get("priorities") or ()))),
            urgency=u.get("urgency") or "",
        )
        for u in data
    ]
