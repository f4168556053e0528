"""Writing escalation policies, services (with their policy per priority) and their
integrations, priority levels (API, admin, config file) and maintenance windows (API,
admin). Each write is recorded in the audit trail."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record, audit_snapshot, audited_delete, audited_save
from paging.kick import kick_engine
from paging.models import (
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
    Incident,
    Integration,
    MaintenanceWindow,
    PriorityLevel,
    Service,
    ServicePriorityPolicy,
)
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


def _spec_check(steps: list[StepSpec]) -> None:
    for i, step in enumerate(steps):
        if step.delay_minutes < 0:
            raise PolicyError(f"steps[{i}].delay_minutes", "must be zero or more")
        for j, target in enumerate(step.targets):
            target_spec_check(target, f"steps[{i}].targets[{j}]")


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
    cursors = {
        t.team_id: t.rr_cursor for t in removed if t.kind == EscalationTarget.Kind.TEAM_ROUND_ROBIN
    }
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
                rr_cursor=cursors.get(t.team_id, 0)
                if t.kind == EscalationTarget.Kind.TEAM_ROUND_ROBIN
                else 0,
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
) -> EscalationPolicy:
    """Create or update a policy (name, description, team, repeat) and, if given, its steps.

    The one write path of a policy (API, admin, config file). When the steps or
    ``repeat`` change, a new version is written: new incidents take it, open ones keep
    theirs (``paging.policy_versions``).
    """
    if steps is not None:
        _spec_check(steps)
    with transaction.atomic():
        policy = policy or EscalationPolicy()
        before = audit_snapshot(policy)
        for name, value in fields.items():
            setattr(policy, name, value)
        policy.save()
        if steps is not None:
            _steps_write(policy=policy, steps=steps)
        policy_version_current(policy_id=policy.pk, actor_id=actor_id)
        policy.refresh_from_db(fields=["current_version"])
        audit_record("update" if before else "create", policy, before=before)
    return policy


def policy_delete(*, policy: EscalationPolicy) -> None:
    """Delete a policy (its services keep running without one; incidents keep their version)."""
    with transaction.atomic():
        audited_delete(policy)


def service_save(
    *,
    service: Service | None,
    fields: dict[str, object],
    priority_policies: Mapping[int, int] | None = None,
) -> Service:
    """Create or change a service (API, admin, config file); with ``priority_policies``
    ({priority: policy id}), also make its escalation policies per priority exactly those."""
    with transaction.atomic():
        service = audited_save(service or Service(), fields)
        if priority_policies is not None:
            service_priority_policies_save(service=service, policies=priority_policies)
        return service


def service_priority_policies_save(*, service: Service, policies: Mapping[int, int]) -> bool:
    """Make the service's per-priority policies exactly ``policies`` ({priority: policy
    id}), each row created, changed or deleted on the audit trail; True if any changed.

    Open incidents keep the policy they have; new incidents of that priority take it.
    """
    changed = False
    with transaction.atomic():
        existing = {row.priority: row for row in service.priority_policies.all()}
        for priority, row in sorted(existing.items()):
            if priority not in policies:
                audited_delete(row)
                changed = True
        for priority, policy_id in sorted(policies.items()):
            row = existing.get(priority)
            if row is not None and row.escalation_policy_id == policy_id:
                continue
            row = row or ServicePriorityPolicy(service=service, priority=priority)
            audited_save(row, {"escalation_policy_id": policy_id})
            changed = True
    return changed


def priority_level_save(*, level: PriorityLevel | None, fields: dict[str, object]) -> PriorityLevel:
    """Create or change a priority level (API, admin, config file)."""
    with transaction.atomic():
        return audited_save(level or PriorityLevel(), fields)


def priority_level_delete(*, level: PriorityLevel) -> None:
    """Stop using a level: incidents graded with it keep their number (shown as ``P5``)."""
    with transaction.atomic():
        audited_delete(level)


def service_delete(*, service: Service) -> None:
    with transaction.atomic():
        audited_delete(service)


def integration_save(*, integration: Integration | None, fields: dict[str, object]) -> Integration:
    """Create or change an integration; its token is made on creation (the audit shows
    only its last 4 characters)."""
    with transaction.atomic():
        return audited_save(integration or Integration(), fields)


def integration_delete(*, integration: Integration) -> None:
    """Delete an integration: its URL (or routing key) stops taking alerts at once."""
    with transaction.atomic():
        audited_delete(integration)


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


def _held_incidents_recheck(service_ids: set[int]) -> None:
    """Incidents held by a maintenance window of these services are due now: the engine
    looks again (a window shortened or deleted releases them; one still running holds
    them until its end)."""
    held = Incident.objects.filter(
        service_id__in=service_ids,
        status=Incident.Status.TRIGGERED,
        in_maintenance=True,
        escalation_started_at__isnull=True,
        next_due_at__isnull=False,
    ).update(next_due_at=timezone.now())
    if held:
        kick_engine()


def maintenance_window_save(
    *, window: MaintenanceWindow | None, fields: dict[str, object]
) -> MaintenanceWindow:
    """Create or change a maintenance window (API, admin)."""
    with transaction.atomic():
        window = window or MaintenanceWindow()
        before = audit_snapshot(window)
        services = {window.service_id} if window.service_id else set()
        for name, value in fields.items():
            setattr(window, name, value)
        window.save()
        _held_incidents_recheck(services | {window.service_id})
        audit_record("update" if before else "create", window, before=before)
    return window


def maintenance_window_delete(*, window: MaintenanceWindow) -> None:
    with transaction.atomic():
        # Incident rows first, the audit trail last: an ack locks them in that order too.
        _held_incidents_recheck({window.service_id})
        audit_record("delete", window)
        window.delete()
