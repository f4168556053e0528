"""Config file: alert rules (``rules`` under a service's integration) and the
``inhibit_rules`` section (order 80). The shapes are ``paging/rules_spec.py``'s.

Identity: a rule by its ``name`` within its integration, an inhibit rule by ``name``.
An integration's rules run in file order. Rules in the database that the file does not
list are reported (``?``) and kept after the file's ones, or deleted with ``--prune``.
A rule's ``actions.service`` names a service of the file (or of the database when the
file has no ``services``); rules are applied after every service of the file exists,
so a rule may route to a service defined further down.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oncall.config.fields import read_list
from oncall.config.registry import ApplyContext
from paging.models import AlertRule, InhibitRule, Integration, Service
from paging.rule_writes import (
    alert_rules_save,
    calendar_exists,
    inhibit_rule_delete,
    inhibit_rule_save,
    rule_fields,
)
from paging.rules_spec import (
    RuleError,
    RuleSpec,
    inhibit_data,
    inhibit_parse,
    rule_data,
    rule_spec_of,
    rules_parse,
)


@dataclass(frozen=True)
class PendingRules:
    """An integration's ``rules`` from the file, applied once every service exists."""

    integration: Integration
    raw: Any
    path: str  # position in the file: services[0].integrations[1].rules
    label: str  # identity in the plan: services[k8s].integrations[alertmanager].rules


def _calendars(ctx: ApplyContext):
    def exists(name: str) -> bool:
        if ctx.is_declared("holiday_calendars", name) is False:
            return False
        return calendar_exists(name)

    return exists


def _services(ctx: ApplyContext):
    def lookup(ref: Any) -> Service | None:
        if not isinstance(ref, str) or ctx.is_declared("services", ref) is False:
            return None
        return Service.objects.filter(name=ref).first()

    return lookup


def _fail(ctx: ApplyContext, exc: RuleError) -> None:
    ctx.fail(exc.path, exc.problem)


def _describe(rule: AlertRule, fields: dict[str, Any]) -> str:
    changed = [name for name, value in fields.items() if getattr(rule, name) != value]
    return ", ".join(name.removeprefix("set_").removesuffix("_id") for name in changed)


def integration_rules_apply(ctx: ApplyContext, pending: PendingRules) -> None:
    try:
        specs = rules_parse(
            pending.raw, pending.path, service_for=_services(ctx), calendars=_calendars(ctx)
        )
    except RuleError as exc:
        _fail(ctx, exc)
    integration = pending.integration
    existing = list(AlertRule.objects.filter(integration=integration).order_by("position", "id"))
    by_name = {rule.name: rule for rule in existing}
    listed = {spec.name for spec in specs}
    extra = [rule for rule in existing if rule.name not in listed]
    kept: list[RuleSpec] = []
    for old in extra:
        where = f"{pending.label}[{old.name}]"
        if ctx.prune:
            ctx.record("delete", where)
        else:
            ctx.record("missing", where)
            kept.append(rule_spec_of(old))
    changed = bool(extra and ctx.prune)
    for position, spec in enumerate(specs):
        where = f"{pending.label}[{spec.name}]"
        rule = by_name.get(spec.name)
        fields = rule_fields(spec, position)
        if rule is None:
            ctx.record("create", where)
            changed = True
            continue
        detail = _describe(rule, fields)
        if detail:
            ctx.record("update", where, detail)
            changed = True
    if changed:
        alert_rules_save(integration=integration, specs=[*specs, *kept])


def integration_rules_export(integration: Integration) -> list[dict[str, Any]]:
    rules = integration.rules.select_related("route_service").order_by("position", "id")
    return [rule_data(rule) for rule in rules]


def inhibit_rules_apply(value: Any, ctx: ApplyContext) -> None:
    ctx.declared.setdefault("inhibit_rules", {})
    items = [] if value is None else read_list(ctx, value, "inhibit_rules")
    for i, raw in enumerate(items):
        path = f"inhibit_rules[{i}]"
        try:
            spec = inhibit_parse(raw, path, calendars=_calendars(ctx))
        except RuleError as exc:
            _fail(ctx, exc)
        ctx.declare("inhibit_rules", spec.name, f"{path}.name")
        label = f"inhibit_rules[{spec.name}]"
        rule = InhibitRule.objects.filter(name=spec.name).first()
        if rule is None:
            inhibit_rule_save(rule=None, spec=spec)
            ctx.record("create", label)
            continue
        wanted = {
            "description": spec.description,
            "enabled": spec.enabled,
            "source": spec.source,
            "target": spec.target,
            "equal": spec.equal,
        }
        changed = [name for name, new in wanted.items() if getattr(rule, name) != new]
        if changed:
            inhibit_rule_save(rule=rule, spec=spec)
            ctx.record("update", label, ", ".join(changed))
    declared = set(ctx.declared["inhibit_rules"])
    for rule in InhibitRule.objects.exclude(name__in=declared).order_by("name"):
        ctx.not_in_file(f"inhibit_rules[{rule.name}]", lambda r=rule: inhibit_rule_delete(rule=r))


def inhibit_rules_export() -> list[dict[str, Any]]:
    return [inhibit_data(rule) for rule in InhibitRule.objects.order_by("name")]
