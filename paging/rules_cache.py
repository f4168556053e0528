"""Compiled alert rules and inhibit rules per integration, cached per process.

The ingest reads the integration's ``rules_version`` in the statement that confirms
its token (no extra query) and asks here: the cached compilation serves while that
version is unchanged and for at most ``TTL_SECONDS``. Every write of the integration's
rules, or of any inhibit rule, bumps the version (``paging/rule_writes.py``), so an
edit applies to the very next alert in every process. What the version does not cover
— a routed service's policy, urgency rules or policies per priority, a holiday
calendar's dates — is read
again after ``TTL_SECONDS`` at most (as the integration cache does; a saved service at
once in the process that saved it). An integration with no rules while no inhibit rule
exists is remembered as such until its version moves: its alerts take the plain path
and ask nothing. Loading costs 2 queries (3 with a business-hours condition on a
holiday calendar); evaluating costs none.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from paging.alert_rules import (
    TIME_OPS,
    CompiledInhibition,
    CompiledRule,
    RuleSet,
    conditions_compile,
    field_getter,
    rule_compile,
)
from paging.models import AlertRule, InhibitRule, Integration, Service, ServicePriorityPolicy
from paging.rule_matcher import rules_matcher
from paging.rules_spec import RuleSpec, rule_spec_of

TTL_SECONDS = 5.0
MAX_ENTRIES = 1024


@dataclass(frozen=True)
class IntegrationRules:
    """What the ingest of one integration runs: its rules and every inhibit rule."""

    rules: RuleSet | tuple[CompiledRule, ...] = ()
    inhibitions: tuple[CompiledInhibition, ...] = ()
    # Services the rules route to, by id (the integration's own is not in it).
    services: dict[int, Service] = field(default_factory=dict)
    # Whether any rule suppresses (else the ingest skips that step).
    suppressing: bool = False
    # service id -> {priority: policy id} (``paging.priority_policy``) for the services an
    # alert can land on: a rule that sets a priority costs no query per delivery.
    priority_policies: dict[int, dict[int, int]] = field(default_factory=dict)

    def service_ids(self, own: int) -> tuple[int, ...]:
        """Every service an alert of this integration can land on, its own first."""
        return (own, *sorted(set(self.services) - {own}))


_cache: dict[tuple[int, str], tuple[int, float, IntegrationRules | None]] = {}
_lock = threading.Lock()


def _calendar_names(conditions: list[list[dict[str, Any]]]) -> set[str]:
    return {
        c["calendar"]
        for conds in conditions
        for c in conds
        if c.get("op") in TIME_OPS and c.get("calendar")
    }


def holidays_load(names: set[str]) -> dict[str, frozenset[date]]:
    if not names:
        return {}
    from schedules.models import Holiday  # imported late: schedules is another app

    days: dict[str, set[date]] = {name: set() for name in names}
    rows = Holiday.objects.current().filter(
        calendar__name__in=sorted(names), calendar__archived_at__isnull=True
    )
    for name, day in rows.values_list("calendar__name", "date"):
        days[name].add(day)
    return {name: frozenset(d) for name, d in days.items()}


def rules_compile(rules: list[AlertRule], inhibits: list[InhibitRule]) -> IntegrationRules | None:
    """Compile rows (already loaded, routed services with them); None when there is
    nothing to run, so the ingest takes its plain path."""
    if not rules and not inhibits:
        return None
    names = _calendar_names(
        [r.conditions for r in rules] + [i.source for i in inhibits] + [i.target for i in inhibits]
    )
    days = holidays_load(names)

    def holidays(name: str) -> frozenset[date]:
        return days.get(name, frozenset())

    specs = [rule_spec_of(rule) for rule in rules]
    compiled = RuleSet(
        rules=tuple(
            spec_compile(spec, rule.pk, holidays) for spec, rule in zip(specs, rules, strict=True)
        ),
        match=rules_matcher(
            [(s.conditions, s.match, s.continue_matching) for s in specs], holidays
        ),
    )
    inhibitions = tuple(inhibition_compile(i, holidays) for i in inhibits)
    services = {s.pk: s for r in rules if (s := r.route_service) is not None}
    return IntegrationRules(
        rules=compiled,
        inhibitions=inhibitions,
        services=services,
        suppressing=any(rule.suppress for rule in compiled),
    )


def spec_compile(
    spec: RuleSpec, rule_id: int, holidays: Callable[[str], frozenset[date]] | None = None
) -> CompiledRule:
    """A rule (as ``paging/rules_spec.py`` reads it, or a row through ``rule_spec_of``)."""
    return rule_compile(
        id=rule_id,
        name=spec.name,
        conditions=spec.conditions,
        match=spec.match,
        continue_matching=spec.continue_matching,
        service=spec.service,
        severity=spec.severity,
        priority=spec.priority,
        urgency=spec.urgency,
        suppress=spec.suppress,
        links=spec.links,
        dedup_key=spec.dedup_key,
        holidays=holidays,
    )


def inhibition_compile(rule: InhibitRule, holidays: Any = None) -> CompiledInhibition:
    return CompiledInhibition(
        id=rule.pk,
        name=rule.name,
        source=conditions_compile(rule.source, "all", holidays),
        target=conditions_compile(rule.target, "all", holidays),
        equal=tuple(field_getter(name) for name in rule.equal),
        equal_names=tuple(name.removeprefix("labels.") for name in rule.equal),
    )


def rules_load(integration: Integration) -> IntegrationRules | None:
    rules = list(
        AlertRule.objects.filter(integration_id=integration.pk, enabled=True)
        .select_related("route_service")
        .order_by("position", "id")
    )
    inhibits = list(InhibitRule.objects.filter(enabled=True).order_by("id"))
    compiled = rules_compile(rules, inhibits)
    if compiled is None or not any(r.priority is not None for r in compiled.rules):
        return compiled
    services = {integration.service_id, *compiled.services}
    by_service: dict[int, dict[int, int]] = {pk: {} for pk in services}
    rows = ServicePriorityPolicy.objects.filter(service_id__in=services)
    for service_id, priority, policy_id in rows.values_list(
        "service_id", "priority", "escalation_policy_id"
    ):
        by_service[service_id][priority] = policy_id
    return replace(compiled, priority_policies=by_service)


def integration_rules(integration: Integration, version: int) -> IntegrationRules | None:
    """The compiled rules of ``integration`` at ``version`` (its ``rules_version`` read
    in this transaction); None when it has none and no inhibit rule exists."""
    key = (integration.pk, integration.token)  # ids can be reused, tokens are not
    now = time.monotonic()
    hit = _cache.get(key)
    # "Nothing to run" depends on rule rows only, which bump the version: it never goes
    # stale, so the plain path asks nothing however long ago it looked.
    if hit is not None and hit[0] == version and (hit[2] is None or hit[1] > now):
        return hit[2]
    compiled = rules_load(integration)
    with _lock:
        if len(_cache) >= MAX_ENTRIES:
            _cache.clear()
        _cache[key] = (version, now + TTL_SECONDS, compiled)
    return compiled


def rules_cache_clear() -> None:
    with _lock:
        _cache.clear()


# Changes the version does not cover: forget this process' compilations at once.
@receiver(post_save, sender=Service, dispatch_uid="rules_cache_service_saved")
@receiver(post_delete, sender=Service, dispatch_uid="rules_cache_service_deleted")
@receiver(post_save, sender=ServicePriorityPolicy, dispatch_uid="rules_cache_priority_saved")
@receiver(post_delete, sender=ServicePriorityPolicy, dispatch_uid="rules_cache_priority_deleted")
def _service_changed(**_: Any) -> None:
    rules_cache_clear()
