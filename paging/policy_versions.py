"""Escalation policy versions: an incident keeps the policy it started with.

The step and target rows of a policy are what people edit (API, admin, config file,
all through ``policy_writes.policy_save``). The engine never runs an incident from
those rows: when an incident's escalation starts it is bound to the policy's current
``EscalationPolicyVersion``, an immutable JSON snapshot of the steps, their targets and
delays and the policy's ``repeat``, shared by every incident started under it. An edit
writes a new version (only when the snapshot differs), which new incidents take; open
incidents keep theirs until an admin moves them with ``policy_version_apply_to_open``.

``policy_version_current`` compares the rows with the current version and writes a new
one when they differ, so rows changed outside ``policy_save`` (a shell, factories, an
old database) still become a version before an incident runs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from oncall.audit.services import audit_record
from paging.ingest_sql import quoted, sql_once
from paging.kick import kick_engine
from paging.models import (
    EscalationPolicy,
    EscalationPolicyVersion,
    EscalationStep,
    EscalationTarget,
    Incident,
    IncidentEvent,
    UnresolvedStep,
)
from paging.row_sql import column_count, columns, from_row
from paging.timeline import event_record


@dataclass
class VersionStep:
    """One step of a version, in the shape the engine uses (targets are unsaved rows
    whose pk is the target row they were copied from, for the round-robin cursor)."""

    position: int
    delay_minutes: int
    targets: list[EscalationTarget]


def priorities_list(text: str) -> list[int]:
    """``UnresolvedStep.priorities`` ("1,2") as levels ([1, 2]; empty: any)."""
    return sorted({int(p) for p in text.split(",") if p.strip().isdigit()})


def unresolved_entry(
    *,
    after_minutes: int,
    kind: str,
    engineer: int | None,
    team: int | None,
    schedule: int | None,
    address: str,
    priorities: str,
    urgency: str,
) -> dict[str, Any]:
    """One unresolved step as a version holds it."""
    return {
        "after_minutes": after_minutes,
        "kind": kind,
        "engineer": engineer,
        "team": team,
        "schedule": schedule,
        "address": address,
        "priorities": priorities_list(priorities or ""),
        "urgency": urgency or "",
    }


def policy_snapshot(policy: EscalationPolicy) -> dict[str, Any]:
    """The rows of ``policy`` as a version's content: {"repeat", "steps", "unresolved"}."""
    steps = EscalationStep.objects.filter(policy=policy).prefetch_related("targets")
    unresolved = UnresolvedStep.objects.filter(policy=policy).order_by("after_minutes", "id")
    return {
        "repeat": policy.repeat,
        "unresolved": [
            unresolved_entry(
                after_minutes=u.after_minutes,
                kind=u.kind,
                engineer=u.engineer_id,
                team=u.team_id,
                schedule=u.schedule_id,
                address=u.address,
                priorities=u.priorities,
                urgency=u.urgency,
            )
            for u in unresolved
        ],
        "steps": [
            {
                "delay_minutes": step.delay_minutes,
                "targets": [
                    {
                        "id": t.pk,
                        "kind": t.kind,
                        "engineer": t.engineer_id,
                        "team": t.team_id,
                        "schedule": t.schedule_id,
                        "address": t.address,
                    }
                    for t in step.targets.all()
                ],
            }
            for step in steps.order_by("position")
        ],
    }


def version_steps(version: EscalationPolicyVersion) -> list[VersionStep]:
    return [
        VersionStep(
            position=position,
            delay_minutes=step["delay_minutes"],
            targets=[
                EscalationTarget(
                    id=t["id"],
                    kind=t["kind"],
                    engineer_id=t["engineer"],
                    team_id=t["team"],
                    schedule_id=t["schedule"],
                    address=t["address"],
                )
                for t in step["targets"]
            ],
        )
        for position, step in enumerate(version.steps)
    ]


def unresolved_due(
    unresolved: list[dict[str, Any]], started_at: datetime | None, index: int
) -> datetime | None:
    """When the unresolved step ``index`` of a version is due for an incident whose
    paging started at ``started_at`` (None: no such step, or not started)."""
    if started_at is None or index >= len(unresolved):
        return None
    return started_at + timedelta(minutes=unresolved[index]["after_minutes"])


def version_label(policy_name: str, number: int) -> str:
    return f"escalation policy '{policy_name}' v{number}"


def _same(version: EscalationPolicyVersion | None, snapshot: dict[str, Any]) -> bool:
    return (
        version is not None
        and version.repeat == snapshot["repeat"]
        and version.steps == snapshot["steps"]
        and version.unresolved == snapshot["unresolved"]
    )


def _current_sql() -> str:
    """The policy, its current version and its rows (one row per target, then one per
    unresolved step: the first column says which) in one statement."""
    policy, version, step, target, unresolved = (
        quoted(m._meta.db_table)
        for m in (
            EscalationPolicy,
            EscalationPolicyVersion,
            EscalationStep,
            EscalationTarget,
            UnresolvedStep,
        )
    )
    blanks = ", ".join(["NULL"] * column_count(EscalationPolicyVersion))
    return (
        f"SELECT 0, p.repeat, s.position, s.id, s.delay_minutes, t.id, t.kind,"  # noqa: S608 - names from model meta
        " t.engineer_id, t.team_id, t.schedule_id, t.address, NULL, NULL,"
        f" {columns(EscalationPolicyVersion, 'v')}"
        f" FROM {policy} p LEFT JOIN {version} v ON v.id = p.current_version_id"
        f" LEFT JOIN {step} s ON s.policy_id = p.id LEFT JOIN {target} t ON t.step_id = s.id"
        " WHERE p.id = %s"
        " UNION ALL SELECT 1, NULL, u.after_minutes, u.id, NULL, NULL, u.kind,"
        " u.engineer_id, u.team_id, u.schedule_id, u.address, u.priorities, u.urgency,"
        f" {blanks} FROM {unresolved} u WHERE u.policy_id = %s"
        " ORDER BY 1, 3, 4, 6"
    )


def _current_read(policy_id: int) -> tuple[EscalationPolicyVersion | None, dict[str, Any]]:
    """The policy's current version and ``policy_snapshot`` of its rows, in one statement
    (the engine asks this once per policy in every tick that starts incidents)."""
    with connection.cursor() as cursor:
        cursor.execute(sql_once(_current_sql), [policy_id, policy_id])
        rows = cursor.fetchall()
    if not rows or rows[0][0] != 0:
        raise EscalationPolicy.DoesNotExist(f"no escalation policy {policy_id}")
    steps: dict[int, dict[str, Any]] = {}
    unresolved: list[dict[str, Any]] = []
    for part, _, position, row_id, delay, target_id, kind, eng, team, sched, address, *rest in rows:
        if part == 1:
            unresolved.append(
                unresolved_entry(
                    after_minutes=position,
                    kind=kind,
                    engineer=eng,
                    team=team,
                    schedule=sched,
                    address=address,
                    priorities=rest[0],
                    urgency=rest[1],
                )
            )
            continue
        if row_id is None:
            continue  # a policy without steps
        step = steps.setdefault(row_id, {"delay_minutes": delay, "targets": []})
        if target_id is not None:
            step["targets"].append(
                {
                    "id": target_id,
                    "kind": kind,
                    "engineer": eng,
                    "team": team,
                    "schedule": sched,
                    "address": address,
                }
            )
    current = from_row(EscalationPolicyVersion, rows[0][13:])
    snapshot = {"repeat": rows[0][1], "steps": list(steps.values()), "unresolved": unresolved}
    return current, snapshot


def policy_version_current(
    *, policy_id: int, actor_id: int | None = None, now: datetime | None = None
) -> EscalationPolicyVersion:
    """The policy's current version, written first if its rows changed since the last one.

    Runs in the caller's transaction (or its own). Writing a version locks the policy
    row, so two workers (or an edit and the engine) cannot both write number n+1; on
    SQLite, writers are serialized anyway.
    """
    # Read first without a lock (the common case: nothing changed, no write, no savepoint).
    current, snapshot = _current_read(policy_id)
    if current is not None and _same(current, snapshot):
        return current
    with transaction.atomic():
        policy = EscalationPolicy.objects.select_for_update().get(pk=policy_id)
        # Again under the lock, in new statements: on PostgreSQL they see a version
        # that the worker we waited for has committed.
        current = (
            EscalationPolicyVersion.objects.filter(pk=policy.current_version_id).first()
            if policy.current_version_id is not None
            else None
        )
        snapshot = policy_snapshot(policy)
        if current is not None and _same(current, snapshot):
            return current
        last = policy.versions.order_by("-number").values_list("number", flat=True).first()
        version = EscalationPolicyVersion.objects.create(
            policy=policy,
            number=(last or 0) + 1,
            repeat=snapshot["repeat"],
            steps=snapshot["steps"],
            unresolved=snapshot["unresolved"],
            created_at=now or timezone.now(),
            created_by_id=actor_id,
        )
        EscalationPolicy.objects.filter(pk=policy.pk).update(current_version=version)
        return version


@dataclass(frozen=True)
class ApplyResult:
    version: EscalationPolicyVersion
    moved: int


def policy_version_apply_to_open(
    *, policy_id: int, actor_id: int | None = None, via: str = "api"
) -> ApplyResult:
    """Move the policy's open incidents that run an older version to the current one.

    Each keeps its position: the next step to run keeps its index, clamped to the new
    version's last step (an incident past its old version's last step stays past the
    end: it repeats or is exhausted as the new version says), its due time and repeat
    count; a clamp back to an index that already ran starts a new loop. Incidents
    whose escalation has not started yet (not ticked yet, or held by a maintenance
    window) take the current version when it starts anyway and are left alone.
    """
    with transaction.atomic():
        now = timezone.now()
        version = policy_version_current(policy_id=policy_id, actor_id=actor_id, now=now)
        name = EscalationPolicy.objects.values_list("name", flat=True).get(pk=policy_id)
        incidents = list(
            Incident.objects.select_for_update(of=("self",))
            .select_related("escalation_version")
            .filter(
                escalation_policy_id=policy_id,
                status__in=Incident.OPEN_STATUSES,
                escalation_version__isnull=False,
            )
            .exclude(escalation_version=version)
            .order_by("id")
        )
        last_index = max(len(version.steps) - 1, 0)
        moved: dict[str, tuple[str, str]] = {}
        for incident in incidents:
            was = incident.escalation_version
            assert was is not None
            moved[f"incident {incident.pk}"] = (f"v{was.number}", f"v{version.number}")
            exhausted = incident.escalation_step >= len(was.steps)
            step = incident.escalation_step
            if not exhausted:
                step = min(step, last_index)
            # Clamped back to a step index that already ran in this loop: a fresh loop,
            # so the new step's page keys cannot match the old step's (a page is
            # deduplicated by incident, step, loop, engineer).
            loop = incident.escalation_loop + (1 if step < incident.escalation_step else 0)
            Incident.objects.filter(pk=incident.pk).update(
                escalation_version=version,
                escalation_step=step,
                escalation_loop=loop,
                # The new version's unresolved steps from the first: those already due
                # run at the next tick, and a notice sent before (same minutes, same
                # target) is not sent again (its outbox key).
                unresolved_step=0,
                unresolved_due_at=unresolved_due(
                    version.unresolved, incident.escalation_started_at, 0
                ),
                updated_at=now,
            )
            next_text = "policy exhausted" if exhausted else f"next: step {step + 1}"
            event_record(
                incident_id=incident.pk,
                kind=IncidentEvent.Kind.POLICY_VERSION,
                at=now,
                actor_id=actor_id,
                via=via,
                text=f"moved to {version_label(name, version.number)} (was v{was.number}); "
                + next_text,
                data={"version": version.number, "was": was.number, "step": step},
            )
        if incidents:
            kick_engine()
            audit_record(
                "apply_to_open", version.policy, changes=moved, engineer_id=actor_id, note=via
            )
    return ApplyResult(version=version, moved=len(incidents))
