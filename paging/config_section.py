"""Config-file sections of paging: ``escalation_policies`` (60), ``services`` (70) with
their integrations' alert rules, and ``inhibit_rules`` (80, ``paging/config_rules.py``);
``priorities`` (50) is in ``config_priorities.py``.

Identity keys: a policy by ``name``; a service by ``name``; an integration by its
``name`` within the service. A service's ``priority_policies`` maps priorities to policy
names (``{P1: platform-urgent}``): incidents of that priority follow that policy. A step
target is a mapping with exactly one key naming its kind: ``engineer: <username>``,
``schedule: <team-slug>/<schedule name>``, ``team_all: <team-slug>``,
``team_round_robin: <team-slug>``, and each channel target kind with its address
(``slack_channel: <id>``, ``pagerduty_service: <routing key>``): the kinds are the
registered ones (``oncall.channel_registry``), each named by the reference it uses.

Integration tokens are secrets and runtime state: never in the file, kept while the
integration's identity stays. Maintenance windows are runtime state too (API/admin).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError

from oncall.channel_registry import target_kind, target_kinds
from oncall.config.fields import (
    Field,
    clean_model,
    describe_diff,
    diff,
    read_choice,
    read_list,
    read_mapping,
    read_value,
)
from oncall.config.registry import ApplyContext, ConfigSection, register_section
from oncall.people.models import Engineer, Team
from paging import config_priorities  # noqa: F401  (registers the "priorities" section)
from paging.config_rules import (
    PendingRules,
    inhibit_rules_apply,
    inhibit_rules_export,
    integration_rules_apply,
    integration_rules_export,
)
from paging.models import (
    EscalationPolicy,
    EscalationTarget,
    Integration,
    Service,
    UnresolvedStep,
)
from paging.models.policies import UNRESOLVED_TARGET_KINDS
from paging.models.services import (
    DEFAULT_RATE_LIMIT_PER_MINUTE,
    DEFAULT_URGENCY_RULES,
    MAX_RATE_LIMIT_PER_MINUTE,
    SEVERITIES,
    URGENCIES,
    validate_sns_topic_arns,
)
from paging.policy_writes import (
    MAX_UNRESOLVED_MINUTES,
    StepSpec,
    TargetSpec,
    UnresolvedSpec,
    policy_delete,
    policy_save,
    unresolved_specs_of,
)
from paging.priorities import PriorityInvalid, priority_levels, priority_parse
from paging.service_writes import integration_delete, integration_save, service_delete, service_save

POLICY_FIELDS = {
    "name": Field(str, required=True),
    "description": Field(str, default=""),
    "team": Field(str, default=""),
    "repeat": Field(int, default=0),
    "steps": Field(list, default=list),
    "unresolved": Field(list, default=list),
}
UNRESOLVED_FIELDS = {
    "after_minutes": Field(int, required=True),
    "notify": Field(dict, required=True),
    "priorities": Field(list, default=list),
    "urgency": Field(str, default=""),
}
STEP_FIELDS = {
    "delay_minutes": Field(int, default=15),
    "targets": Field(list, default=list),
}
SERVICE_FIELDS = {
    "name": Field(str, required=True),
    "team": Field(str, required=True),
    "description": Field(str, default=""),
    "escalation_policy": Field(str, default=""),
    "urgency_rules": Field(dict, default=dict),
    "ack_timeout_minutes": Field(int, default=0),
    "low_urgency_business_hours_only": Field(bool, default=False),
    "priority_policies": Field(dict, default=dict),
    "integrations": Field(list, default=list),
}
INTEGRATION_FIELDS = {
    "name": Field(str, required=True),
    "kind": Field(str, required=True),
    "grouping": Field(str, default=Integration.Grouping.GROUP.value),
    "rate_limit_per_minute": Field(int, default=DEFAULT_RATE_LIMIT_PER_MINUTE),
    "sns_topics": Field(list, default=list),
    "rules": Field(list, default=list),  # paging/config_rules.py
}


def _items(ctx: ApplyContext, value: Any, path: str) -> list[Any]:
    return [] if value is None else read_list(ctx, value, path)


def _team(ctx: ApplyContext, slug: str, path: str) -> Team:
    if ctx.is_declared("teams", slug) is False:
        ctx.fail(path, f"team {slug!r} is not defined under teams")
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        ctx.fail(path, f"team {slug!r} does not exist")
    return team


def config_service(
    ctx: ApplyContext, name: Any, path: str, *, expected: str = "a service name"
) -> Service:
    """The service the file names at ``path`` (for other sections: stakeholders, status
    page groups, webhooks); it must be declared under ``services`` when that section is
    in the file, and exist."""
    if not isinstance(name, str):
        ctx.fail(path, f"expected {expected}")
    if ctx.is_declared("services", name) is False:
        ctx.fail(path, f"service {name!r} is not defined under services")
    service = Service.objects.filter(name=name).first()
    if service is None:
        ctx.fail(path, f"service {name!r} does not exist")
    return service


def config_engineer(ctx: ApplyContext, username: str, path: str) -> Engineer:
    """The engineer the file names at ``path`` by username (for this and other sections):
    declared under ``engineers`` when that section is in the file, and existing."""
    if ctx.is_declared("engineers", username) is False:
        ctx.fail(path, f"engineer {username!r} is not defined under engineers")
    field = get_user_model().USERNAME_FIELD
    engineer = Engineer.objects.filter(**{f"user__{field}": username}).first()
    if engineer is None:
        ctx.fail(path, f"engineer {username!r} does not exist")
    return engineer


def _schedule_id(ctx: ApplyContext, ref: str, path: str) -> int:
    from schedules.models import Schedule

    team_slug, _, name = ref.partition("/")
    if not name:
        ctx.fail(path, f"{ref!r}: name a schedule as <team-slug>/<schedule name>")
    if ctx.is_declared("schedules", ref) is False:
        ctx.fail(path, f"schedule {ref!r} is not defined under schedules")
    schedule = Schedule.objects.filter(team__slug=team_slug, name=name).first()
    if schedule is None:
        ctx.fail(path, f"schedule {ref!r} does not exist")
    return schedule.pk


def _target(ctx: ApplyContext, raw: Any, path: str) -> TargetSpec:
    kinds = [k.name for k in target_kinds()]
    read_value(ctx, raw, path, dict)
    if len(raw) != 1:
        ctx.fail(path, f"a target has exactly one key, one of: {', '.join(kinds)}")
    kind, ref = next(iter(raw.items()))
    read_choice(ctx, kind, path, kinds)
    ref = read_value(ctx, ref, f"{path}.{kind}", str)
    where = f"{path}.{kind}"
    reference = _reference(kind)
    if reference == "engineer":
        return TargetSpec(kind=kind, engineer_id=config_engineer(ctx, ref, where).pk)
    if reference == "schedule":
        return TargetSpec(kind=kind, schedule_id=_schedule_id(ctx, ref, where))
    if reference == "team":
        return TargetSpec(kind=kind, team_id=_team(ctx, ref, where).pk)
    if not ref.strip():
        ctx.fail(where, "must not be empty")
    return TargetSpec(kind=kind, address=ref)


def _unresolved(ctx: ApplyContext, raw: Any, path: str) -> UnresolvedSpec:
    """One ``unresolved`` item: ``{after_minutes: 60, notify: {engineer: priya},
    priorities: [P1, P2], urgency: high}`` (priorities and urgency optional)."""
    data = read_mapping(ctx, raw, path, UNRESOLVED_FIELDS)
    if not 1 <= data["after_minutes"] <= MAX_UNRESOLVED_MINUTES:
        ctx.fail(f"{path}.after_minutes", f"must be 1 to {MAX_UNRESOLVED_MINUTES}")
    notify = data["notify"]
    if len(notify) != 1:
        kinds = ", ".join(UNRESOLVED_TARGET_KINDS)
        ctx.fail(f"{path}.notify", f"exactly one key, one of: {kinds}")
    read_choice(ctx, next(iter(notify)), f"{path}.notify", UNRESOLVED_TARGET_KINDS)
    target = _target(ctx, notify, f"{path}.notify")
    priorities = []
    for k, given in enumerate(data["priorities"]):
        try:
            level = priority_parse(str(given))
        except PriorityInvalid as exc:
            ctx.fail(f"{path}.priorities[{k}]", str(exc))
        if level is None:
            ctx.fail(f"{path}.priorities[{k}]", "name a priority level")
        priorities.append(level)
    if data["urgency"]:
        read_choice(ctx, data["urgency"], f"{path}.urgency", URGENCIES)
    return UnresolvedSpec(
        after_minutes=data["after_minutes"],
        target=target,
        priorities=tuple(sorted(set(priorities))),
        urgency=data["urgency"],
    )


def _unresolved_state(specs: list[UnresolvedSpec]) -> list[tuple]:
    return sorted(
        (
            u.after_minutes,
            u.target.kind,
            u.target.engineer_id or None,
            u.target.team_id or None,
            u.target.schedule_id or None,
            u.target.address,
            u.priorities,
            u.urgency,
        )
        for u in specs
    )


def _reference(kind: str) -> str:
    registered = target_kind(kind)
    return registered.reference if registered is not None else "address"


def _steps_state(policy: EscalationPolicy) -> list[tuple]:
    return [
        (
            step.delay_minutes,
            [
                (t.kind, t.engineer_id, t.team_id, t.schedule_id, t.address)
                for t in step.targets.order_by("id")
            ],
        )
        for step in policy.steps.order_by("position")
    ]


def _specs_state(specs: list[StepSpec]) -> list[tuple]:
    return [
        (
            s.delay_minutes,
            [(t.kind, t.engineer_id, t.team_id, t.schedule_id, t.address) for t in s.targets],
        )
        for s in specs
    ]


def policies_apply(value: Any, ctx: ApplyContext) -> None:
    ctx.declared.setdefault("escalation_policies", {})
    for i, raw in enumerate(_items(ctx, value, "escalation_policies")):
        path = f"escalation_policies[{i}]"
        data = read_mapping(ctx, raw, path, POLICY_FIELDS)
        name = data["name"]
        ctx.declare("escalation_policies", name, f"{path}.name")
        if data["repeat"] < 0:
            ctx.fail(f"{path}.repeat", "must be zero or more")
        team = _team(ctx, data["team"], f"{path}.team") if data["team"] else None
        specs = []
        for j, raw_step in enumerate(data["steps"]):
            spath = f"{path}.steps[{j}]"
            step = read_mapping(ctx, raw_step, spath, STEP_FIELDS)
            if step["delay_minutes"] < 0:
                ctx.fail(f"{spath}.delay_minutes", "must be zero or more")
            targets = [
                _target(ctx, t, f"{spath}.targets[{k}]") for k, t in enumerate(step["targets"])
            ]
            specs.append(StepSpec(delay_minutes=step["delay_minutes"], targets=targets))
        unresolved = [
            _unresolved(ctx, u, f"{path}.unresolved[{k}]") for k, u in enumerate(data["unresolved"])
        ]
        wanted = {"description": data["description"], "team": team, "repeat": data["repeat"]}
        label = f"escalation_policies[{name}]"
        policy = EscalationPolicy.objects.filter(name=name).first()
        if policy is None:
            policy = EscalationPolicy(name=name, **wanted)
            clean_model(ctx, policy, path)
            policy_save(policy=policy, fields={}, steps=specs, unresolved=unresolved)
            ctx.record("create", label, f"{len(specs)} step(s)")
            continue
        changes = diff(policy, wanted)
        steps_changed = _steps_state(policy) != _specs_state(specs)
        unresolved_changed = _unresolved_state(unresolved_specs_of(policy)) != _unresolved_state(
            unresolved
        )
        if changes:
            for field_name, (_old, new) in changes.items():
                setattr(policy, field_name, new)
            clean_model(ctx, policy, path)
        if changes or steps_changed or unresolved_changed:
            # Through the one write path: a new version for new incidents, open ones
            # keep theirs.
            policy_save(
                policy=policy,
                fields={},
                steps=specs if steps_changed else None,
                unresolved=unresolved if unresolved_changed else None,
            )
        if steps_changed:
            changes["steps"] = ("…", f"{len(specs)} step(s)")
        if unresolved_changed:
            changes["unresolved"] = ("…", f"{len(unresolved)} unresolved step(s)")
        if changes:
            ctx.record("update", label, describe_diff(changes))
    declared = set(ctx.declared["escalation_policies"])
    for policy in EscalationPolicy.objects.exclude(name__in=declared).order_by("name"):
        ctx.not_in_file(
            f"escalation_policies[{policy.name}]", lambda p=policy: policy_delete(policy=p)
        )


def _target_export(target: EscalationTarget) -> dict[str, str]:
    reference = _reference(target.kind)
    # The kind's check constraint guarantees the row it references.
    if reference == "engineer":
        assert target.engineer is not None
        return {target.kind: target.engineer.username}
    if reference == "schedule":
        assert target.schedule is not None
        return {target.kind: f"{target.schedule.team.slug}/{target.schedule.name}"}
    if reference == "team":
        assert target.team is not None
        return {target.kind: target.team.slug}
    return {target.kind: target.address}


def _unresolved_export(step: UnresolvedStep) -> dict[str, Any]:
    item: dict[str, Any] = {
        "after_minutes": step.after_minutes,
        # The same shape as a step's target (an UnresolvedStep has the same references).
        "notify": _target_export(step),  # type: ignore[arg-type]
    }
    if step.priorities:
        item["priorities"] = [f"P{p}" for p in step.priorities.split(",")]
    if step.urgency:
        item["urgency"] = step.urgency
    return item


def policies_export() -> list[dict[str, Any]]:
    out = []
    for policy in EscalationPolicy.objects.select_related("team").order_by("name"):
        item: dict[str, Any] = {"name": policy.name}
        if policy.description:
            item["description"] = policy.description
        if policy.team:
            item["team"] = policy.team.slug
        if policy.repeat:
            item["repeat"] = policy.repeat
        item["steps"] = [
            {
                "delay_minutes": step.delay_minutes,
                "targets": [
                    _target_export(t)
                    for t in step.targets.select_related(
                        "engineer__user", "team", "schedule__team"
                    ).order_by("id")
                ],
            }
            for step in policy.steps.order_by("position")
        ]
        unresolved = policy.unresolved_steps.select_related(
            "engineer__user", "team", "schedule__team"
        ).order_by("after_minutes", "id")
        if unresolved:
            item["unresolved"] = [_unresolved_export(u) for u in unresolved]
        out.append(item)
    return out


def _urgency_rules(ctx: ApplyContext, rules: dict[str, Any], path: str) -> dict[str, str]:
    merged = dict(DEFAULT_URGENCY_RULES)
    for severity, urgency in rules.items():
        read_choice(ctx, str(severity), f"{path}.urgency_rules", SEVERITIES)
        read_choice(ctx, read_value(ctx, urgency, f"{path}.urgency_rules.{severity}", str),
                    f"{path}.urgency_rules.{severity}", URGENCIES)  # fmt: skip
        merged[severity] = urgency
    return merged


def _policy_ref(ctx: ApplyContext, ref: str, path: str) -> EscalationPolicy:
    if ctx.is_declared("escalation_policies", ref) is False:
        ctx.fail(path, f"policy {ref!r} is not defined")
    policy = EscalationPolicy.objects.filter(name=ref).first()
    if policy is None:
        ctx.fail(path, f"policy {ref!r} does not exist")
    return policy


def _priority_policies(ctx: ApplyContext, raw: dict[Any, Any], path: str) -> dict[int, int]:
    """{priority: policy id} from ``{P1: policy name}`` (keys as ``priority_parse`` reads
    them: P1, 1 or a level's name; the ``priorities`` section is applied before)."""
    levels = priority_levels()
    out: dict[int, int] = {}
    for key, ref in raw.items():
        where = f"{path}.priority_policies.{key}"
        try:
            priority = priority_parse(key, levels)
        except PriorityInvalid as exc:
            ctx.fail(where, str(exc))
        if priority is None or priority in out:
            ctx.fail(where, "name each priority once")
        out[priority] = _policy_ref(ctx, read_value(ctx, ref, where, str), where).pk
    return out


def services_apply(value: Any, ctx: ApplyContext) -> None:
    ctx.declared.setdefault("services", {})
    rules: list[PendingRules] = []  # applied once every service of the file exists
    for i, raw in enumerate(_items(ctx, value, "services")):
        path = f"services[{i}]"
        data = read_mapping(ctx, raw, path, SERVICE_FIELDS)
        name = data["name"]
        ctx.declare("services", name, f"{path}.name")
        team = _team(ctx, data["team"], f"{path}.team")
        policy = None
        if data["escalation_policy"]:
            policy = _policy_ref(ctx, data["escalation_policy"], f"{path}.escalation_policy")
        by_priority = _priority_policies(ctx, data["priority_policies"], path)
        if data["ack_timeout_minutes"] < 0:
            ctx.fail(f"{path}.ack_timeout_minutes", "must be zero or more (0 = none)")
        wanted = {
            "team": team,
            "description": data["description"],
            "escalation_policy": policy,
            "urgency_rules": _urgency_rules(ctx, data["urgency_rules"], path),
            "ack_timeout_minutes": data["ack_timeout_minutes"] or None,
            "low_urgency_business_hours_only": data["low_urgency_business_hours_only"],
        }
        label = f"services[{name}]"
        service = Service.objects.filter(name=name).first()
        if service is None:
            service = Service(name=name, **wanted)
            clean_model(ctx, service, path)
            service_save(service=service, fields={}, priority_policies=by_priority)
            ctx.record("create", label)
        else:
            changes = diff(service, wanted)
            was = _priority_policies_export(service)
            now = _priority_policies_export(service, by_priority)
            if was != now:
                changes["priority_policies"] = (was, now)
            if changes:
                for field_name, (_old, new) in changes.items():
                    if field_name != "priority_policies":
                        setattr(service, field_name, new)
                clean_model(ctx, service, path)
                service_save(service=service, fields={}, priority_policies=by_priority)
                ctx.record("update", label, describe_diff(changes))
        rules += _integrations_apply(ctx, service, data["integrations"], path, label)
    for pending in rules:
        integration_rules_apply(ctx, pending)
    declared = set(ctx.declared["services"])
    for service in Service.objects.exclude(name__in=declared).order_by("name"):
        ctx.not_in_file(f"services[{service.name}]", lambda s=service: _service_delete(ctx, s))


def _service_delete(ctx: ApplyContext, service: Service) -> None:
    # Deleting a service would delete its incident history with it.
    if service.incidents.exists():
        ctx.fail(f"services[{service.name}]", "--prune cannot delete a service with incidents")
    try:
        service_delete(service=service)
    except ProtectedError as exc:  # alert rules of another integration route to it
        users = ", ".join(sorted({str(o) for o in exc.protected_objects})[:5])
        ctx.fail(f"services[{service.name}]", f"--prune cannot delete it: still used by {users}")


def _integrations_apply(
    ctx: ApplyContext, service: Service, raw: list[Any], path: str, label: str
) -> list[PendingRules]:
    existing = {i.name: i for i in service.integrations.all()}
    seen: dict[str, str] = {}
    rules: list[PendingRules] = []
    for j, item in enumerate(raw):
        ipath = f"{path}.integrations[{j}]"
        data = read_mapping(ctx, item, ipath, INTEGRATION_FIELDS)
        name = data["name"]
        if name in seen:
            ctx.fail(f"{ipath}.name", f"duplicate: {name!r} is already at {seen[name]}")
        seen[name] = ipath
        kind = read_choice(ctx, data["kind"], f"{ipath}.kind", Integration.Kind.values)
        grouping = read_choice(
            ctx, data["grouping"], f"{ipath}.grouping", Integration.Grouping.values
        )
        wanted = {
            "kind": kind,
            "grouping": grouping,
            **_integration_limits(ctx, data, kind, ipath),
        }
        where = f"{label}.integrations[{name}]"
        integration = existing.get(name)
        if integration is None:
            integration = Integration(service=service, name=name, **wanted)
            clean_model(ctx, integration, ipath)
            integration_save(integration=integration, fields={})
            ctx.record("create", where, f"kind={kind!r}")
        else:
            changes = diff(integration, wanted)
            if changes:
                integration_save(integration=integration, fields=wanted)
                ctx.record("update", where, describe_diff(changes))
        rules.append(PendingRules(integration, data["rules"], f"{ipath}.rules", f"{where}.rules"))
    for name, integration in sorted(existing.items()):
        if name not in seen:
            ctx.not_in_file(
                f"{label}.integrations[{name}]",
                lambda i=integration: integration_delete(integration=i),
            )
    return rules


def _priority_policies_export(
    service: Service, by_priority: dict[int, int] | None = None
) -> dict[str, str]:
    """``{"P1": policy name}``: the service's rows, or ``by_priority`` ({priority: id})."""
    rows: Iterable[tuple[int, str]]
    if by_priority is None:
        rows = service.priority_policies.values_list("priority", "escalation_policy__name")
    else:
        names = dict(EscalationPolicy.objects.filter(pk__in=by_priority.values()).values_list(
            "pk", "name"))  # fmt: skip
        rows = [(priority, names[pk]) for priority, pk in by_priority.items()]
    return {f"P{priority}": name for priority, name in sorted(rows)}


def _integration_limits(
    ctx: ApplyContext, data: dict[str, Any], kind: str, path: str
) -> dict[str, Any]:
    """``rate_limit_per_minute`` (0 = none) and, for SNS, the accepted ``sns_topics``."""
    limit = data["rate_limit_per_minute"]
    if not 0 <= limit <= MAX_RATE_LIMIT_PER_MINUTE:
        ctx.fail(
            f"{path}.rate_limit_per_minute",
            f"must be 0 (no limit) to {MAX_RATE_LIMIT_PER_MINUTE}, not {limit}",
        )
    topics = data["sns_topics"]
    if topics and kind != Integration.Kind.SNS:
        ctx.fail(f"{path}.sns_topics", f"only an sns integration takes topics, not {kind!r}")
    try:
        validate_sns_topic_arns(topics)
    except ValidationError as exc:
        ctx.fail(f"{path}.sns_topics", exc.messages[0])
    return {"rate_limit_per_minute": limit, "sns_topic_arns": list(topics)}


def _integration_export(integration: Integration) -> dict[str, Any]:
    item: dict[str, Any] = {
        "name": integration.name,
        "kind": integration.kind,
        "grouping": integration.grouping,
    }
    if integration.rate_limit_per_minute != DEFAULT_RATE_LIMIT_PER_MINUTE:
        item["rate_limit_per_minute"] = integration.rate_limit_per_minute
    if integration.sns_topic_arns:
        item["sns_topics"] = list(integration.sns_topic_arns)
    return item


def services_export() -> list[dict[str, Any]]:
    out = []
    services = Service.objects.select_related("team", "escalation_policy").order_by("name")
    for service in services:
        item: dict[str, Any] = {"name": service.name, "team": service.team.slug}
        if service.description:
            item["description"] = service.description
        if service.escalation_policy:
            item["escalation_policy"] = service.escalation_policy.name
        rules = {
            severity: urgency
            for severity, urgency in (service.urgency_rules or {}).items()
            if DEFAULT_URGENCY_RULES.get(severity) != urgency
        }
        if rules:
            item["urgency_rules"] = rules
        if service.ack_timeout_minutes:
            item["ack_timeout_minutes"] = service.ack_timeout_minutes
        if service.low_urgency_business_hours_only:
            item["low_urgency_business_hours_only"] = True
        by_priority = _priority_policies_export(service)
        if by_priority:
            item["priority_policies"] = by_priority
        integrations = []
        for integration in service.integrations.order_by("name"):
            entry = _integration_export(integration)
            integration_rules = integration_rules_export(integration)
            if integration_rules:
                entry["rules"] = integration_rules
            integrations.append(entry)
        if integrations:
            item["integrations"] = integrations
        out.append(item)
    return out


register_section(
    ConfigSection(key="escalation_policies", order=60, apply=policies_apply, export=policies_export)
)
register_section(
    ConfigSection(key="services", order=70, apply=services_apply, export=services_export)
)
register_section(
    ConfigSection(
        key="inhibit_rules", order=80, apply=inhibit_rules_apply, export=inhibit_rules_export
    )
)
