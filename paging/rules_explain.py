""" "Test these rules against a sample alert" (admin box, ``POST …/rules/test/``): parse a
sample body as the integration would, run the rules over each alert and say, rule by
rule and condition by condition, what matched and what the alert would become.
Nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.utils import timezone

from paging.alert_event import AlertEvent
from paging.alert_rules import (
    RuleOutcome,
    condition_compile,
    rule_outcome,
)
from paging.inbound.alertmanager import alertmanager_parse
from paging.inbound.fields import InvalidPayload
from paging.inbound.grafana import grafana_parse
from paging.inbound.pagerduty_events import pagerduty_event_parse
from paging.inbound.sns import cloudwatch_event, sns_parse
from paging.inbound.webhook import webhook_parse
from paging.inhibition import DeliverySources, inhibited
from paging.models import Integration, Service
from paging.rules_cache import holidays_load, inhibition_compile, spec_compile
from paging.rules_spec import RuleSpec
from paging.rules_text import condition_line


def _pagerduty(body: dict[str, Any]) -> list[AlertEvent]:
    return [pagerduty_event_parse(body).event]


def _webhook(body: dict[str, Any]) -> list[AlertEvent]:
    return [webhook_parse(body)]


def _sns(body: dict[str, Any]) -> list[AlertEvent]:
    # A trial: the envelope is read but its signature is not checked (nothing is stored).
    event = cloudwatch_event(sns_parse(body))
    return [event] if event is not None else []


# Integration kind -> the parser its endpoint uses (a new inbound kind adds a line).
SAMPLE_PARSERS: dict[str, Callable[[dict[str, Any]], list[AlertEvent]]] = {
    Integration.Kind.ALERTMANAGER: alertmanager_parse,
    Integration.Kind.PAGERDUTY: _pagerduty,
    Integration.Kind.WEBHOOK: _webhook,
    Integration.Kind.GRAFANA: grafana_parse,
    Integration.Kind.SNS: _sns,
}


class SampleInvalid(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def sample_events(kind: str, body: Any) -> list[AlertEvent]:
    """The events the integration's endpoint would make of ``body``, or SampleInvalid."""
    if not isinstance(body, dict):
        raise SampleInvalid(["the sample must be a JSON object, as the alert source sends it"])
    parser = SAMPLE_PARSERS.get(kind)
    if parser is None:
        raise SampleInvalid([f"samples of {kind!r} integrations cannot be tested here"])
    try:
        return parser(body)
    except InvalidPayload as exc:
        raise SampleInvalid(exc.errors) from None


@dataclass
class RuleTrace:
    name: str
    enabled: bool
    matched: bool
    # (condition as written, True/False) in order; empty: no conditions, matches all.
    conditions: list[tuple[str, bool]] = field(default_factory=list)
    reached: bool = True  # False: an earlier rule matched without ``continue``


@dataclass
class AlertTrial:
    event: AlertEvent
    rules: list[RuleTrace]
    outcome: RuleOutcome | None
    service: str
    severity: str
    urgency: str
    priority: int | None
    dedup_key: str
    links: list[dict[str, str]]
    suppressed_by: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "alert_key": self.event.alert_key,
            "action": self.event.action,
            "title": self.event.title,
            "matched": self.outcome.rules if self.outcome else [],
            "service": self.service,
            "severity": self.severity,
            "urgency": self.urgency,
            "priority": self.priority,
            "dedup_key": self.dedup_key,
            "links": self.links,
            "suppressed_by": self.suppressed_by,
            "paged": not self.suppressed_by,
            "rules": [
                {
                    "name": r.name,
                    "enabled": r.enabled,
                    "reached": r.reached,
                    "matched": r.matched,
                    "conditions": [{"condition": c, "true": ok} for c, ok in r.conditions],
                }
                for r in self.rules
            ],
        }


def rules_try(
    *,
    integration: Integration,
    specs: list[RuleSpec],
    events: list[AlertEvent],
    now: datetime | None = None,
) -> list[AlertTrial]:
    """What ``specs`` (disabled ones shown, not run) would make of each event now,
    inhibitions included (read from the database, nothing written)."""
    from paging.ingest import _dedup_key  # the ingest's own default key

    now = now or timezone.now()
    calendars = {c["calendar"] for s in specs for c in s.conditions if c.get("calendar")}
    days = holidays_load(calendars)

    def holidays(name: str) -> frozenset[date]:
        return days.get(name, frozenset())

    compiled = [spec_compile(spec, n, holidays) for n, spec in enumerate(specs)]
    running = [rule for rule, spec in zip(compiled, specs, strict=True) if spec.enabled]
    services: dict[int, Service] = {s.service.pk: s.service for s in specs if s.service is not None}
    services[integration.service_id] = integration.service
    from paging.models import InhibitRule

    inhibitions = tuple(
        inhibition_compile(rule, holidays) for rule in InhibitRule.objects.filter(enabled=True)
    )
    sources = DeliverySources.of(inhibitions, events, now)
    trials = []
    for index, event in enumerate(events):
        traces = []
        stopped = False
        for spec in specs:
            checks = [condition_compile(c, holidays) for c in spec.conditions]
            results = [
                (condition_line(c), check(event, now))
                for c, check in zip(spec.conditions, checks, strict=True)
            ]
            values = [ok for _, ok in results]
            matched = spec.enabled and (
                not values or (any(values) if spec.match == "any" else all(values))
            )
            trace = RuleTrace(
                name=spec.name,
                enabled=spec.enabled,
                matched=matched and not stopped,
                conditions=results,
                reached=not stopped,
            )
            traces.append(trace)
            if matched and not stopped and not spec.continue_matching:
                stopped = True
        outcome = rule_outcome(running, event, now) if event.action != "resolve" else None
        severity = (outcome.severity if outcome else "") or event.severity
        service = services[(outcome.service_id if outcome else None) or integration.service_id]
        urgency = (outcome.urgency if outcome else "") or service.urgency_for(severity)
        suppressed = outcome.suppressed_by if outcome else ""
        if not suppressed and inhibitions and event.action == "trigger":
            held = inhibited(
                inhibitions=inhibitions, events=[(index, event)], delivery_sources=sources, now=now
            )
            suppressed = held[index].reason if index in held else ""
        trials.append(
            AlertTrial(
                event=event,
                rules=traces,
                outcome=outcome,
                service=service.name,
                severity=severity,
                urgency=urgency,
                priority=outcome.priority if outcome else None,
                dedup_key=(outcome.dedup_key if outcome else "") or _dedup_key(integration, event),
                links=[*event.links, *(outcome.links if outcome else [])],
                suppressed_by=suppressed,
            )
        )
    return trials
