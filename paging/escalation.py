"""The escalation engine step: advance every incident whose ``next_due_at`` has come.

A batch of due incidents is claimed with ``select_for_update(skip_locked=True)``; each
is advanced (next policy step, repeat, ack timeout) and the pages it needs are
written to the outbox in the same transaction. A worker that dies before commit
leaves nothing behind: the rows unlock and the next tick runs the step once.

An incident runs the policy version it was bound to when its escalation started
(``paging/policy_versions.py``), never the step rows being edited. An incident opened
during a maintenance window is due when the window ends: if the service is still in
a window it waits for that one, else its escalation starts then ("maintenance ended,
still firing"); one resolved meanwhile is not due any more and pages nobody.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from oncall.channel_registry import target_kind
from oncall.people.models import TeamMembership
from paging.bulk import tuples_insert
from paging.channels.escalation_targets import channel_targets_post
from paging.ingest_sql import concrete_field, quoted, quoted_column, sql_once
from paging.models import (
    EscalationPolicy,
    EscalationPolicyVersion,
    EscalationTarget,
    Incident,
    IncidentEvent,
    MaintenanceWindow,
    Service,
)
from paging.notify import PagePlan, RulesCache, business_hours_start, pages_plan
from paging.policy_versions import (
    VersionStep,
    policy_version_current,
    unresolved_due,
    version_label,
    version_steps,
)
from paging.retrigger import RETRIGGER_FIELDS, incident_retrigger
from paging.row_sql import column_count, columns, from_row
from schedules import selectors as schedule_selectors

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# Test hook: called after a batch is claimed, before anything is written
# (the crash test kills the worker inside it).
after_claim_hook: Callable[[list[int]], None] | None = None


def _schedule_oncall(schedule_id: int, at: datetime) -> list[int]:
    return schedule_selectors.oncall_engineer_ids(schedule_id=schedule_id, at=at)


@dataclass
class TickCache:
    """What stays valid for one tick (several batches): versions, teams, ladders."""

    # version id -> (version, its steps); versions never change once written.
    versions: dict[int, tuple[EscalationPolicyVersion, list[VersionStep]]] = field(
        default_factory=dict
    )
    # policy id -> its current version id, for incidents starting in this tick.
    current: dict[int, int] = field(default_factory=dict)
    team_members: dict[int, list[int]] = field(default_factory=dict)
    rules: RulesCache = field(default_factory=RulesCache)


@dataclass
class AdvanceContext:
    """Per-batch state, so a batch of incidents costs a handful of queries."""

    now: datetime
    cache: TickCache = field(default_factory=TickCache)
    oncall: dict[int, list[int]] = field(default_factory=dict)
    service_names: dict[int, str] = field(default_factory=dict)
    business_hours: dict[int, bool] = field(default_factory=dict)
    # Round-robin cursors read (and row-locked) once per batch, written back at the end.
    rr_cursors: dict[int, int] = field(default_factory=dict)
    # service id -> end of the maintenance window it is in now (None: not in one).
    maintenance_ends: dict[int, datetime | None] = field(default_factory=dict)

    def versions_load(self, version_ids: set[int]) -> None:
        missing = version_ids - set(self.cache.versions)
        if not missing:
            return  # no query (the ORM compiles one even for an empty IN)
        for version in EscalationPolicyVersion.objects.filter(pk__in=missing):
            self.cache.versions[version.pk] = (version, version_steps(version))

    def version(self, version_id: int) -> tuple[EscalationPolicyVersion, list[VersionStep]]:
        if version_id not in self.cache.versions:
            self.versions_load({version_id})
        return self.cache.versions[version_id]

    def current_version_id(self, policy_id: int) -> int:
        """The policy's current version (written now if its rows changed), once per tick."""
        current = self.cache.current
        if policy_id not in current:
            version = policy_version_current(policy_id=policy_id, now=self.now)
            current[policy_id] = version.pk
            self.cache.versions[version.pk] = (version, version_steps(version))
        return current[policy_id]

    def maintenance_load(self, service_ids: set[int]) -> None:
        """Where each service's current maintenance window ends (chained windows: the
        engine looks again at that end)."""
        missing = service_ids - set(self.maintenance_ends)
        if not missing:
            return
        ends = dict(
            MaintenanceWindow.objects.filter(
                service_id__in=missing, starts_at__lte=self.now, ends_at__gt=self.now
            )
            .values("service_id")
            .annotate(end=Max("ends_at"))
            .values_list("service_id", "end")
        )
        for service_id in missing:
            self.maintenance_ends[service_id] = ends.get(service_id)

    def members(self, team_id: int) -> list[int]:
        members = self.cache.team_members
        if team_id not in members:
            members[team_id] = list(
                TeamMembership.objects.filter(team_id=team_id)
                .order_by("engineer__display_name", "engineer_id")
                .values_list("engineer_id", flat=True)
            )
            # A team target pages its members: load their ladders in one go.
            for urgency in ("high", "low"):
                self.cache.rules.load(members[team_id], urgency)
        return members[team_id]

    def round_robin_next(self, target: EscalationTarget, members: list[int]) -> int:
        if target.pk not in self.rr_cursors:
            # Locked until commit: concurrent workers take turns, each member once. A
            # target removed from the policy since this incident's version was written
            # has no cursor left: the team starts from its first member.
            self.rr_cursors[target.pk] = (
                EscalationTarget.objects.select_for_update()
                .filter(pk=target.pk)
                .values_list("rr_cursor", flat=True)
                .first()
            ) or 0
        cursor = self.rr_cursors[target.pk]
        self.rr_cursors[target.pk] = cursor + 1
        return members[cursor % len(members)]

    def rr_cursors_save(self) -> None:
        for target_id, cursor in self.rr_cursors.items():
            EscalationTarget.objects.filter(pk=target_id).update(rr_cursor=cursor)

    def schedule_oncall(self, schedule_id: int) -> list[int]:
        if schedule_id not in self.oncall:
            self.oncall[schedule_id] = _schedule_oncall(schedule_id, self.now)
        return self.oncall[schedule_id]


def step_targets(step: VersionStep, ctx: AdvanceContext) -> tuple[list[int], list[str]]:
    """Engineer ids a step pages now (in order, no repeats), and notes for the timeline.

    Each target kind resolves itself (``TargetKind.resolve``, ``paging.people_targets``);
    channel targets (a Slack channel…) page no engineer: see ``_channel_targets_post``.
    """
    engineer_ids: list[int] = []
    notes: list[str] = []
    for target in step.targets:
        kind = target_kind(target.kind)
        if kind is None:
            notes.append(f"{target.kind} targets: no channel is installed for them")
            continue
        if kind.resolve is None:
            continue
        found, more = kind.resolve(target, ctx)
        notes.extend(more)
        for engineer_id in found:
            if engineer_id not in engineer_ids:
                engineer_ids.append(engineer_id)
    return engineer_ids, notes


def _channel_targets_post(incident: Incident, step: VersionStep, step_index: int) -> list[str]:
    """Queue posts for a step's channel targets (a Slack channel, a PagerDuty service…).

    Returns what was paged, for the step's timeline line.
    """
    return channel_targets_post(
        incident_id=incident.pk,
        targets=step.targets,
        step=step_index,
        loop=incident.escalation_loop,
    )


def _event(incident: Incident, kind: str, text: str, ctx: AdvanceContext, plan: PagePlan) -> None:
    plan.event(incident_id=incident.pk, kind=kind, at=ctx.now, text=text)


def incident_advance(incident: Incident, ctx: AdvanceContext, plan: PagePlan) -> None:
    """Advance one claimed incident in memory; the caller saves the incident and plan."""
    now = ctx.now
    if incident.status == Incident.Status.ACKNOWLEDGED:
        # The ack timed out: back to triggered, and the policy starts over (now, below).
        line = incident_retrigger(
            incident,
            now=now,
            restart=True,
            due_at=now,
            by_person=False,
            kind=IncidentEvent.Kind.ACK_TIMEOUT,
            text="not resolved in time",
        )
        _event(incident, line.kind, line.text, ctx, plan)
    elif incident.status != Incident.Status.TRIGGERED:
        incident.next_due_at = None
        return

    if incident.escalation_started_at is None:
        if incident.in_maintenance:
            # Opened during a maintenance window: due when it ends.
            end = ctx.maintenance_ends.get(incident.service_id)
            if end is not None:  # still (or again) in a window: wait for this one
                incident.next_due_at = end
                return
            text = "maintenance ended, still firing"
            _event(incident, IncidentEvent.Kind.MAINTENANCE_ENDED, text, ctx, plan)
        incident.escalation_started_at = now
        incident.start_changed = True  # type: ignore[attr-defined]
    policy = incident.escalation_policy
    if policy is None:
        _event(incident, IncidentEvent.Kind.NO_CONTACT, "no escalation policy", ctx, plan)
        incident.next_due_at = None
        return
    if incident.escalation_version_id is None:
        # The escalation starts (or a reassignment chose another policy): the incident
        # runs the policy's current version from now on, whatever edits come later.
        incident.escalation_version_id = ctx.current_version_id(policy.pk)
        incident.version_bound = True  # type: ignore[attr-defined]
        version, _ = ctx.version(incident.escalation_version_id)
        # Its unresolved steps count from when paging started (``paging/notices.py``).
        incident.unresolved_step = 0
        incident.unresolved_due_at = unresolved_due(
            version.unresolved, incident.escalation_started_at, 0
        )
        text = f"following {version_label(policy.name, version.number)}"
        _event(incident, IncidentEvent.Kind.POLICY_VERSION, text, ctx, plan)
        incident.start_changed = True  # type: ignore[attr-defined]
    version, steps = ctx.version(incident.escalation_version_id)
    if not steps:
        text = f"{version_label(policy.name, version.number)} has no steps"
        _event(incident, IncidentEvent.Kind.NO_CONTACT, text, ctx, plan)
        incident.next_due_at = None
        return
    # Steps that page nobody are skipped at once; the loop is bounded by the passes.
    for _ in range((len(steps) + 1) * (version.repeat + 2)):
        if incident.escalation_step >= len(steps):
            if incident.escalation_repeat < version.repeat:
                incident.escalation_repeat += 1
                incident.escalation_loop += 1
                incident.escalation_step = 0
            else:
                _event(
                    incident,
                    IncidentEvent.Kind.ESCALATION_EXHAUSTED,
                    "every step has run; nobody acknowledged",
                    ctx,
                    plan,
                )
                incident.next_due_at = None
                return
        step = steps[incident.escalation_step]
        engineer_ids, notes = step_targets(step, ctx)
        label = f"step {step.position + 1}" + (
            f" (repeat {incident.escalation_repeat})" if incident.escalation_repeat else ""
        )
        plan.cache.load(engineer_ids, incident.urgency)
        # A version outlives its rows: an engineer deleted since it was written is
        # skipped (loaded names say who still exists; no query of its own).
        gone = [e for e in engineer_ids if e not in plan.cache.names]
        if gone:
            engineer_ids = [e for e in engineer_ids if e in plan.cache.names]
            notes.extend(f"engineer {e} no longer exists" for e in gone)
        names = plan.names_for(engineer_ids) + _channel_targets_post(
            incident, step, incident.escalation_step
        )
        text = f"{label}: paging {', '.join(names)}" if names else f"{label}: nobody to page"
        if notes:
            text += " (" + "; ".join(notes) + ")"
        plan.event(
            incident_id=incident.pk,
            kind=IncidentEvent.Kind.ESCALATION_STEP,
            at=now,
            text=text,
            data={
                "step": incident.escalation_step,
                "loop": incident.escalation_loop,
                "engineer_ids": engineer_ids,
                "policy_version": version.number,
            },
        )
        step_index = incident.escalation_step
        incident.escalation_step += 1
        if names:
            pages_plan(
                incidents_engineers=[(incident, engineer_ids)],
                step_label=str(step_index),
                now=now,
                plan=plan,
                service_names=ctx.service_names,
                business_hours=ctx.business_hours,
            )
            # Low urgency held for business hours: the next step waits as long.
            start = now
            if incident.urgency == "low" and ctx.business_hours.get(incident.service_id):
                start = max(
                    [now]
                    + [
                        business_hours_start(now, plan.cache.time_zones.get(e, "UTC"))
                        for e in engineer_ids
                    ]
                )
            incident.next_due_at = start + timedelta(minutes=step.delay_minutes)
            if engineer_ids:
                # A step paging only channels (Slack, PagerDuty) assigns nobody new:
                # the people paged before stay assigned.
                incident.assigned_engineer_ids = engineer_ids  # type: ignore[attr-defined]
            return
    incident.next_due_at = None


# What an advance writes: the fields a retrigger (the ack timeout) sets; the start time
# apart, only for incidents whose escalation started in the batch (see _incidents_save),
# and the suppression, which only a person lifts.
ADVANCED_FIELDS = [
    f for f in RETRIGGER_FIELDS if f not in ("escalation_started_at", "suppressed_by")
]
_ADVANCED_FIELD_OBJECTS = [concrete_field(Incident, name) for name in ADVANCED_FIELDS]


def _due_sql() -> str:
    # ORDER BY: an index walk from the earliest due time that stops at once, whatever the
    # planner's statistics say (without them it chose to scan the whole table).
    table = quoted(Incident._meta.db_table)
    return f"SELECT 1 FROM {table} WHERE next_due_at <= %s ORDER BY next_due_at LIMIT 1"  # noqa: S608 - names from model meta


def _claim_sql() -> str:
    """Due incidents with their service and policy (``select_related``), oldest due
    first, row-locked and skipping rows another worker holds (PostgreSQL)."""
    incident, service, policy = (
        quoted(m._meta.db_table) for m in (Incident, Service, EscalationPolicy)
    )
    lock = " FOR UPDATE OF i SKIP LOCKED" if connection.features.has_select_for_update_of else ""
    return (
        f"SELECT {columns(Incident, 'i')}, {columns(Service, 's')}, "  # noqa: S608 - names from model meta
        f"{columns(EscalationPolicy, 'p')} FROM {incident} i"
        f" INNER JOIN {service} s ON s.id = i.service_id"
        f" LEFT JOIN {policy} p ON p.id = i.escalation_policy_id"
        f" WHERE i.next_due_at <= %s ORDER BY i.next_due_at, i.id LIMIT %s{lock}"
    )


def _incidents_claim(now: datetime, limit: int) -> list[Incident]:
    """The ORM's ``select_for_update(skip_locked=True, of=("self",)).select_related(
    "escalation_policy", "service")`` claim, as one statement built once per process."""
    with connection.cursor() as cursor:
        cursor.execute(sql_once(_claim_sql), [now, limit])
        rows = cursor.fetchall()
    first, second = column_count(Incident), column_count(Incident) + column_count(Service)
    incidents = []
    for row in rows:
        incident = from_row(Incident, row[:first])
        assert incident is not None
        service = from_row(Service, row[first:second])
        assert service is not None  # an inner join
        incident.service = service
        incident.escalation_policy = from_row(EscalationPolicy, row[second:])
        incidents.append(incident)
    return incidents


def escalations_advance_batch(*, limit: int = BATCH_SIZE, cache: TickCache | None = None) -> int:
    """Claim and advance up to ``limit`` due incidents in one transaction."""
    with transaction.atomic():
        now = timezone.now()
        incidents = _incidents_claim(now, limit)
        if not incidents:
            return 0
        if after_claim_hook is not None:
            after_claim_hook([i.pk for i in incidents])
        ctx = AdvanceContext(now=now, cache=cache or TickCache())
        ctx.versions_load({i.escalation_version_id for i in incidents if i.escalation_version_id})
        ctx.maintenance_load(
            {i.service_id for i in incidents if i.in_maintenance and not i.escalation_started_at}
        )
        plan = PagePlan(cache=ctx.cache.rules)
        for incident in incidents:
            ctx.service_names[incident.service_id] = incident.service.name
            ctx.business_hours[incident.service_id] = (
                incident.service.low_urgency_business_hours_only
            )
            incident_advance(incident, ctx, plan)
            incident.updated_at = now
        plan.save()
        ctx.rr_cursors_save()
        _incidents_save(incidents)
        _assignees_replace(incidents)
    return len(incidents)


def _incidents_save(incidents: list[Incident]) -> None:
    """Write the advanced state: one UPDATE per distinct set of values (usually a few).

    Faster than bulk_update's CASE per row, since most incidents of a batch end in the
    same state (triggered, next step, same due time). The start time and version are
    written only for incidents whose escalation started (or that took a new policy) in
    this batch, the version as a CASE over their policies (every incident of a policy
    bound in one tick takes the same version), so that incidents of 20 policies still
    share one UPDATE. Hand-built (values prepared by the fields, as the ORM would): the
    ORM compiled this UPDATE for longer than PostgreSQL ran it.
    """
    groups: dict[tuple, list[Incident]] = {}
    for incident in incidents:
        values = tuple(getattr(incident, f.attname) for f in _ADVANCED_FIELD_OBJECTS)
        bound = getattr(incident, "version_bound", False)
        started = (
            (
                incident.escalation_started_at,
                bound,
                incident.unresolved_due_at if bound else None,
            )
            if getattr(incident, "start_changed", False)
            else None
        )
        groups.setdefault((values, started), []).append(incident)
    started_field = concrete_field(Incident, "escalation_started_at")
    with connection.cursor() as cursor:
        for (values, started), members in groups.items():
            assign = [f"{quoted_column(f)} = %s" for f in _ADVANCED_FIELD_OBJECTS]
            params = [
                f.get_db_prep_save(v, connection)
                for f, v in zip(_ADVANCED_FIELD_OBJECTS, values, strict=True)
            ]
            if started is not None:
                at, bound, unresolved_at = started
                assign.append("escalation_started_at = %s")
                params.append(started_field.get_db_prep_save(at, connection))
                if bound:
                    # The version's unresolved steps start over with the version.
                    assign.append("unresolved_step = 0, unresolved_due_at = %s")
                    params.append(started_field.get_db_prep_save(unresolved_at, connection))
                    versions = {i.escalation_policy_id: i.escalation_version_id for i in members}
                    cases = " ".join(["WHEN %s THEN %s"] * len(versions))
                    assign.append(
                        "escalation_version_id = CASE escalation_policy_id"
                        f" {cases} ELSE escalation_version_id END"
                    )
                    params.extend(x for pair in versions.items() for x in pair)
            ids = [i.pk for i in members]
            cursor.execute(
                f"UPDATE {quoted(Incident._meta.db_table)} SET {', '.join(assign)}"  # noqa: S608 - names from model meta
                f" WHERE id IN ({', '.join(['%s'] * len(ids))})",
                [*params, *ids],
            )


def _assignees_replace(incidents: list[Incident]) -> None:
    through = Incident.assigned_to.through
    changed = {
        i.pk: i.assigned_engineer_ids for i in incidents if hasattr(i, "assigned_engineer_ids")
    }
    if not changed:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {quoted(through._meta.db_table)}"  # noqa: S608 - names from model meta
            f" WHERE incident_id IN ({', '.join(['%s'] * len(changed))})",
            list(changed),
        )
    tuples_insert(
        through,
        ("incident_id", "engineer_id"),
        [(i, e) for i, engineer_ids in changed.items() for e in engineer_ids],
    )


def escalations_advance(*, limit: int = BATCH_SIZE, max_batches: int = 1000) -> int:
    """The tick step: advance batches until nothing is due (or ``max_batches``).

    First one indexed question outside any transaction ("is anything due?"): an idle
    tick costs that statement, not a transaction with a locking claim.
    """
    with connection.cursor() as cursor:
        cursor.execute(sql_once(_due_sql), [timezone.now()])
        if cursor.fetchone() is None:
            return 0
    total = 0
    cache = TickCache()
    for _ in range(max_batches):
        done = escalations_advance_batch(limit=limit, cache=cache)
        total += done
        if done < limit:
            break
    return total
