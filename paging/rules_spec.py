"""Reading alert rules and inhibit rules from plain data (API body, config file, admin
form) into checked specs; every problem is a ``RuleError`` naming the path and reason.

One rule, as the API and the config file take it::

    name: security alerts to the security team
    match: all                  # or any
    conditions:
      - {field: labels.service, op: equals, value: security}
      - 'team=~"sec.*"'         # an Alertmanager matcher: label team
      - {op: business_hours, calendar: Germany, time_zone: Europe/Berlin}
    actions:
      service: Security         # a name (or, in the API, an id)
      severity: critical
      priority: 1               # or "P1"
      urgency: high
      suppress: false
      links: [{text: Runbook, href: "https://runbooks.example.com/{{ labels.alertname }}"}]
      dedup_key: "{{ labels.instance }}"
    continue: false
    enabled: true

A condition written as a string is one line of ``paging/rules_text.py``: an
Alertmanager matcher (``name="v"``, ``name!="v"``, ``name=~"re"``, ``name!~"re"``),
``name in "a", "b"``, ``name exists``, ``in business hours mon-fri 08:00-18:00
Europe/Berlin except holidays of Germany``. A bare name there is a *label*
(``severity="critical"`` reads ``labels.severity``), a name with a dot a field path,
``alert.severity`` the alert's parsed severity. In the mapping form ``field`` is
explicit (``severity`` alone is the parsed severity). Stored conditions are mappings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from paging.alert_rules import (
    OPS,
    TIME_OPS,
    days_parse,
    field_check,
    hours_parse,
    template_compile,
)
from paging.models import Service
from paging.models.services import SEVERITIES, URGENCIES
from paging.priorities import PriorityInvalid, priority_parse
from paging.rules_text import condition_from_line

NAME_MAX = 100
VALUE_MAX = 1000
MAX_CONDITIONS = 50
MAX_LINKS = 10
MAX_RULES = 200

RULE_KEYS = ("name", "enabled", "match", "conditions", "actions", "continue")
ACTION_KEYS = ("service", "severity", "priority", "urgency", "suppress", "links", "dedup_key")
INHIBIT_KEYS = ("name", "description", "enabled", "source_matchers", "target_matchers", "equal")


class RuleError(Exception):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class RuleSpec:
    name: str
    conditions: list[dict[str, Any]]
    match: str = "all"
    enabled: bool = True
    continue_matching: bool = False
    service: Service | None = None
    severity: str = ""
    priority: int | None = None
    urgency: str = ""
    suppress: bool = False
    links: list[dict[str, str]] = field(default_factory=list)
    dedup_key: str = ""


@dataclass(frozen=True)
class InhibitSpec:
    name: str
    source: list[dict[str, Any]]
    target: list[dict[str, Any]]
    equal: list[str]
    description: str = ""
    enabled: bool = True


def _kind(value: Any) -> str:
    names = {str: "a string", bool: "true or false", int: "an integer", list: "a list"}
    for py_type, name in names.items():
        if isinstance(value, py_type):
            return name
    return (
        "a mapping"
        if isinstance(value, dict)
        else "nothing (null)"
        if value is None
        else type(value).__name__
    )


def _expect(value: Any, kind: type, path: str) -> Any:
    if isinstance(value, bool) and kind is not bool:
        raise RuleError(path, f"expected {_kind(kind())}, got true or false")
    if not isinstance(value, kind):
        raise RuleError(path, f"expected {_kind(kind())}, got {_kind(value)}")
    return value


def _known_keys(data: dict[str, Any], known: tuple[str, ...], path: str) -> None:
    for key in data:
        if key not in known:
            raise RuleError(f"{path}.{key}", f"unknown field {key!r} (known: {', '.join(known)})")


def _label_field(name: str) -> str:
    return name if "." in name else f"labels.{name}"


def _time_condition(cond: dict[str, Any], path: str, calendars: Callable[[str], bool]) -> dict:
    _known_keys(cond, ("op", "calendar", "time_zone", "days", "hours"), path)
    out: dict[str, Any] = {"op": cond["op"]}
    zone = cond.get("time_zone", "UTC")
    _expect(zone, str, f"{path}.time_zone")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuleError(f"{path}.time_zone", f"{zone!r} is not an IANA time zone name") from None
    out["time_zone"] = zone
    calendar = cond.get("calendar", "")
    _expect(calendar, str, f"{path}.calendar")
    if calendar and not calendars(calendar):
        raise RuleError(f"{path}.calendar", f"no holiday calendar is named {calendar!r}")
    out["calendar"] = calendar
    days = cond.get("days", "mon-fri")
    hours = cond.get("hours", "08:00-18:00")
    try:
        days_parse(_expect(days, str, f"{path}.days"))
    except ValueError as exc:
        raise RuleError(f"{path}.days", str(exc)) from None
    try:
        hours_parse(_expect(hours, str, f"{path}.hours"))
    except ValueError as exc:
        raise RuleError(f"{path}.hours", str(exc)) from None
    out["days"], out["hours"] = days, hours
    return out


def condition_parse(raw: Any, path: str, calendars: Callable[[str], bool]) -> dict[str, Any]:
    """One condition (a mapping or a matcher string), checked and normalised."""
    if isinstance(raw, str):
        cond = condition_from_line(raw)
        if isinstance(cond, str):
            raise RuleError(
                path,
                f'{raw[:80]!r} is not a matcher: write name="value" (or !=, =~, !~),'
                ' name in "a", "b", name exists, or in business hours …',
            )
    elif isinstance(raw, dict):
        cond = dict(raw)
    else:
        raise RuleError(path, f"expected a mapping or a matcher string, got {_kind(raw)}")
    op = cond.get("op")
    if op is None:
        raise RuleError(f"{path}.op", f"required field is missing (one of {', '.join(OPS)})")
    if op not in OPS:
        raise RuleError(
            f"{path}.op", f"unknown operator {str(op)[:40]!r} (use one of {', '.join(OPS)})"
        )
    if op in TIME_OPS:
        return _time_condition(cond, path, calendars)
    _known_keys(cond, ("field", "op", "value"), path)
    name = cond.get("field")
    if name is None:
        raise RuleError(f"{path}.field", "required field is missing")
    try:
        field_check(name)
    except ValueError as exc:
        raise RuleError(f"{path}.field", str(exc)) from None
    value = cond.get("value")
    where = f"{path}.value"
    if op == "exists":
        if value is None:
            value = True
        _expect(value, bool, where)
    elif op == "in":
        _expect(value, list, where)
        if not value:
            raise RuleError(where, "give at least one value")
        for i, item in enumerate(value):
            if not isinstance(item, str | int | float) or isinstance(item, bool):
                raise RuleError(f"{where}[{i}]", f"expected a string, got {_kind(item)}")
        value = [str(v) for v in value]
    else:
        if value is None:
            raise RuleError(where, "required field is missing")
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)  # YAML reads `value: 5` as a number
        _expect(value, str, where)
        if len(value) > VALUE_MAX:
            raise RuleError(where, f"at most {VALUE_MAX} characters")
        if op in ("regex", "not_regex"):
            try:
                re.compile(value)
            except re.error as exc:
                raise RuleError(
                    where, f"{value[:80]!r} is not a valid regular expression: {exc}"
                ) from None
    return {"field": name, "op": op, "value": value}


def conditions_parse(raw: Any, path: str, calendars: Callable[[str], bool]) -> list[dict[str, Any]]:
    if raw is None:
        return []
    _expect(raw, list, path)
    if len(raw) > MAX_CONDITIONS:
        raise RuleError(path, f"at most {MAX_CONDITIONS} conditions")
    return [condition_parse(c, f"{path}[{i}]", calendars) for i, c in enumerate(raw)]


def _template(value: Any, path: str, max_length: int) -> str:
    _expect(value, str, path)
    if len(value) > max_length:
        raise RuleError(path, f"at most {max_length} characters")
    try:
        template_compile(value)
    except ValueError as exc:
        raise RuleError(path, str(exc)) from None
    return value


def _links(raw: Any, path: str) -> list[dict[str, str]]:
    if raw is None:
        return []
    _expect(raw, list, path)
    if len(raw) > MAX_LINKS:
        raise RuleError(path, f"at most {MAX_LINKS} links")
    links = []
    for i, item in enumerate(raw):
        where = f"{path}[{i}]"
        _expect(item, dict, where)
        _known_keys(item, ("text", "href"), where)
        if "href" not in item:
            raise RuleError(f"{where}.href", "required field is missing")
        href = _template(item["href"], f"{where}.href", 2000).strip()
        if not href.lower().startswith(("https://", "http://")):
            raise RuleError(f"{where}.href", "must start with https:// or http://")
        text = _template(item.get("text", "") or "", f"{where}.text", 200)
        links.append({"text": text, "href": href})
    return links


def _priority(value: Any, path: str) -> int | None:
    """1..5, P1..P5 or a configured display name (SEV1), as everywhere priorities are
    read (``paging.priorities.priority_parse``)."""
    try:
        return priority_parse(value)
    except PriorityInvalid as exc:
        raise RuleError(path, str(exc)) from None


def _choice(value: Any, path: str, choices: tuple[str, ...]) -> str:
    if value is None or value == "":
        return ""
    _expect(value, str, path)
    if value not in choices:
        raise RuleError(path, f"{value[:40]!r} is not one of {', '.join(choices)}")
    return value


def _flag(data: dict[str, Any], key: str, path: str, default: bool) -> bool:
    value = data.get(key, default)
    return bool(_expect(value, bool, f"{path}.{key}"))


def rule_parse(
    raw: Any,
    path: str,
    *,
    service_for: Callable[[Any], Service | None],
    calendars: Callable[[str], bool],
) -> RuleSpec:
    """One rule. ``service_for(ref)`` finds the service an action names (None: unknown);
    ``calendars(name)`` says whether a holiday calendar of that name exists."""
    _expect(raw, dict, path)
    _known_keys(raw, RULE_KEYS, path)
    name = raw.get("name")
    if name is None:
        raise RuleError(f"{path}.name", "required field is missing")
    name = _expect(name, str, f"{path}.name").strip()
    if not name:
        raise RuleError(f"{path}.name", "must not be empty")
    if len(name) > NAME_MAX:
        raise RuleError(f"{path}.name", f"at most {NAME_MAX} characters")
    match = raw.get("match", "all")
    if match not in ("all", "any"):
        raise RuleError(f"{path}.match", f"{str(match)[:20]!r} is not one of all, any")
    conditions = conditions_parse(raw.get("conditions"), f"{path}.conditions", calendars)
    actions = raw.get("actions") or {}
    apath = f"{path}.actions"
    _expect(actions, dict, apath)
    _known_keys(actions, ACTION_KEYS, apath)
    service = None
    ref = actions.get("service")
    if ref not in (None, ""):
        if not isinstance(ref, str | int) or isinstance(ref, bool):
            raise RuleError(f"{apath}.service", f"expected a service name, got {_kind(ref)}")
        service = service_for(ref)
        if service is None:
            raise RuleError(f"{apath}.service", f"unknown service {str(ref)[:100]!r}")
    dedup_key = actions.get("dedup_key") or ""
    if dedup_key:
        dedup_key = _template(dedup_key, f"{apath}.dedup_key", 255)
    return RuleSpec(
        name=name,
        conditions=conditions,
        match=match,
        enabled=_flag(raw, "enabled", path, True),
        continue_matching=_flag(raw, "continue", path, False),
        service=service,
        severity=_choice(actions.get("severity"), f"{apath}.severity", SEVERITIES),
        priority=_priority(actions.get("priority"), f"{apath}.priority"),
        urgency=_choice(actions.get("urgency"), f"{apath}.urgency", URGENCIES),
        suppress=_flag(actions, "suppress", apath, False),
        links=_links(actions.get("links"), f"{apath}.links"),
        dedup_key=dedup_key,
    )


def rules_parse(
    raw: Any,
    path: str = "rules",
    *,
    service_for: Callable[[Any], Service | None],
    calendars: Callable[[str], bool],
) -> list[RuleSpec]:
    """An integration's whole ordered list of rules; names are unique within it."""
    if raw is None:
        return []
    _expect(raw, list, path)
    if len(raw) > MAX_RULES:
        raise RuleError(path, f"at most {MAX_RULES} rules per integration")
    specs: list[RuleSpec] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(raw):
        spec = rule_parse(item, f"{path}[{i}]", service_for=service_for, calendars=calendars)
        if spec.name in seen:
            raise RuleError(
                f"{path}[{i}].name",
                f"duplicate: {spec.name!r} is already {path}[{seen[spec.name]}]",
            )
        seen[spec.name] = i
        specs.append(spec)
    return specs


def _matchers(raw: Any, path: str, calendars: Callable[[str], bool]) -> list[dict[str, Any]]:
    if raw is None:
        raise RuleError(path, "required field is missing")
    conditions = conditions_parse(raw, path, calendars)
    if not conditions:
        raise RuleError(path, "give at least one matcher")
    return conditions


def inhibit_parse(raw: Any, path: str = "", *, calendars: Callable[[str], bool]) -> InhibitSpec:
    """One inhibit rule: ``source_matchers``, ``target_matchers`` (matcher strings or
    condition mappings), ``equal`` (label names, or field paths with a dot)."""
    where = (lambda key: f"{path}.{key}") if path else (lambda key: key)
    _expect(raw, dict, path or "body")
    for key in raw:
        if key not in INHIBIT_KEYS:
            raise RuleError(where(key), f"unknown field {key!r} (known: {', '.join(INHIBIT_KEYS)})")
    name = raw.get("name")
    if name is None:
        raise RuleError(where("name"), "required field is missing")
    name = _expect(name, str, where("name")).strip()
    if not name:
        raise RuleError(where("name"), "must not be empty")
    if len(name) > NAME_MAX:
        raise RuleError(where("name"), f"at most {NAME_MAX} characters")
    equal_raw = raw.get("equal") or []
    _expect(equal_raw, list, where("equal"))
    equal = []
    for i, item in enumerate(equal_raw):
        label = _expect(item, str, f"{where('equal')}[{i}]")
        try:
            field_check(_label_field(label))
        except ValueError as exc:
            raise RuleError(f"{where('equal')}[{i}]", str(exc)) from None
        equal.append(_label_field(label))
    description = raw.get("description") or ""
    return InhibitSpec(
        name=name,
        description=_expect(description, str, where("description")),
        enabled=bool(_expect(raw.get("enabled", True), bool, where("enabled"))),
        source=_matchers(raw.get("source_matchers"), where("source_matchers"), calendars),
        target=_matchers(raw.get("target_matchers"), where("target_matchers"), calendars),
        equal=equal,
    )


def rule_data(rule: Any) -> dict[str, Any]:
    """A stored AlertRule in the shape ``rule_parse`` takes (defaults left out), with the
    routed service by name."""
    actions: dict[str, Any] = {}
    if rule.route_service_id:
        actions["service"] = rule.route_service.name
    if rule.set_severity:
        actions["severity"] = rule.set_severity
    if rule.set_priority:
        actions["priority"] = rule.set_priority
    if rule.set_urgency:
        actions["urgency"] = rule.set_urgency
    if rule.suppress:
        actions["suppress"] = True
    if rule.links:
        actions["links"] = rule.links
    if rule.dedup_key:
        actions["dedup_key"] = rule.dedup_key
    data: dict[str, Any] = {"name": rule.name}
    if rule.match != "all":
        data["match"] = rule.match
    data["conditions"] = rule.conditions
    data["actions"] = actions
    if rule.continue_matching:
        data["continue"] = True
    if not rule.enabled:
        data["enabled"] = False
    return data


def inhibit_data(rule: Any) -> dict[str, Any]:
    """A stored InhibitRule in the shape ``inhibit_parse`` takes."""
    data: dict[str, Any] = {"name": rule.name}
    if rule.description:
        data["description"] = rule.description
    if not rule.enabled:
        data["enabled"] = False
    data["source_matchers"] = rule.source
    data["target_matchers"] = rule.target
    data["equal"] = [e[len("labels.") :] if e.startswith("labels.") else e for e in rule.equal]
    return data


def rule_spec_of(rule: Any) -> RuleSpec:
    """A stored AlertRule as a spec (to save it again, or to try it)."""
    return RuleSpec(
        name=rule.name,
        conditions=rule.conditions,
        match=rule.match,
        enabled=rule.enabled,
        continue_matching=rule.continue_matching,
        service=rule.route_service,
        severity=rule.set_severity,
        priority=rule.set_priority,
        urgency=rule.set_urgency,
        suppress=rule.suppress,
        links=rule.links,
        dedup_key=rule.dedup_key,
    )
