"""Writing alert rules and inhibit rules (API, admin, config file): one write path
each, audited, and bumping ``Integration.rules_version`` so that every process runs
the new rules from the next alert on (``paging/rules_cache.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from oncall.audit.services import audit_record, audit_snapshot
from paging.inhibition import sources_rebuild
from paging.models import AlertRule, InhibitRule, Integration, Service
from paging.rules_cache import inhibition_compile
from paging.rules_spec import InhibitSpec, RuleSpec


def _rules_version_bump(integration_ids: list[int] | None = None) -> None:
    """Every process recompiles these integrations' rules (all: None) at its next alert."""
    integrations = Integration.objects.all()
    if integration_ids is not None:
        integrations = integrations.filter(pk__in=integration_ids)
    integrations.update(rules_version=F("rules_version") + 1)


def rule_fields(spec: RuleSpec, position: int) -> dict[str, Any]:
    return {
        "position": position,
        "name": spec.name,
        "enabled": spec.enabled,
        "match": spec.match,
        "conditions": spec.conditions,
        "continue_matching": spec.continue_matching,
        "route_service_id": spec.service.pk if spec.service is not None else None,
        "set_severity": spec.severity,
        "set_priority": spec.priority,
        "set_urgency": spec.urgency,
        "suppress": spec.suppress,
        "links": spec.links,
        "dedup_key": spec.dedup_key,
    }


def alert_rules_save(*, integration: Integration, specs: list[RuleSpec]) -> list[AlertRule]:
    """Make the integration's rules be ``specs``, in that order (a rule is identified by
    its name: same name, same row, changed in place; others created or deleted)."""
    with transaction.atomic():
        existing = {rule.name: rule for rule in AlertRule.objects.filter(integration=integration)}
        saved: list[AlertRule] = []
        for position, spec in enumerate(specs):
            fields = rule_fields(spec, position)
            rule = existing.pop(spec.name, None)
            if rule is None:
                rule = AlertRule(integration=integration, **fields)
                rule.save()
                audit_record("create", rule)
            elif any(getattr(rule, name) != value for name, value in fields.items()):
                before = audit_snapshot(rule)
                for name, value in fields.items():
                    setattr(rule, name, value)
                rule.save()
                audit_record("update", rule, before=before)
            saved.append(rule)
        for rule in existing.values():
            audit_record("delete", rule)
            rule.delete()
        _rules_version_bump([integration.pk])
    return saved


def inhibit_rule_save(*, rule: InhibitRule | None, spec: InhibitSpec) -> InhibitRule:
    """Create or change an inhibit rule. Its sources are taken again from the alerts
    firing now; incidents it no longer holds page."""
    with transaction.atomic():
        rule = rule or InhibitRule()
        before = audit_snapshot(rule)
        rule.name = spec.name
        rule.description = spec.description
        rule.enabled = spec.enabled
        rule.source = spec.source
        rule.target = spec.target
        rule.equal = spec.equal
        rule.save()
        compiled = inhibition_compile(rule) if rule.enabled else None
        sources_rebuild(rule_id=rule.pk, inhibition=compiled, now=timezone.now())
        _rules_version_bump()
        audit_record("update" if before else "create", rule, before=before)
    return rule


def inhibit_rule_delete(*, rule: InhibitRule) -> None:
    """Delete an inhibit rule: the incidents it held page now."""
    with transaction.atomic():
        rule_id = rule.pk
        audit_record("delete", rule)
        rule.delete()
        sources_rebuild(rule_id=rule_id, inhibition=None, now=timezone.now())
        _rules_version_bump()


def service_lookup(ref: Any) -> Service | None:
    """A service named by id (API) or name (API, config, admin)."""
    if isinstance(ref, int) and not isinstance(ref, bool):
        return Service.objects.filter(pk=ref).first()
    if isinstance(ref, str) and ref.strip():
        return Service.objects.filter(name=ref.strip()).first()
    return None


def calendar_exists(name: str) -> bool:
    from schedules.models import HolidayCalendar  # another app

    return HolidayCalendar.objects.current().filter(name=name).exists()


ServiceLookup = Callable[[Any], Service | None]
