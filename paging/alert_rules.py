"""Alert rules and inhibit rules, compiled: pure functions of an AlertEvent, no database.

A condition is a mapping (stored as such; ``paging/rules_spec.py`` validates them):

- ``{"field": F, "op": "equals" | "not_equals" | "regex" | "not_regex", "value": "…"}``
- ``{"field": F, "op": "in", "value": ["a", "b"]}``
- ``{"field": F, "op": "exists", "value": true | false}``
- ``{"op": "business_hours" | "outside_business_hours", "calendar": "Germany",
  "time_zone": "Europe/Berlin", "days": "mon-fri", "hours": "08:00-18:00"}``

A field ``F`` is one of the event's own fields (``title``, ``severity``, ``source``,
``alert_key``, ``group_key``) or a dotted path into its details: ``labels.instance``
and ``annotations.summary`` (Alertmanager, Grafana), ``custom_details.team`` (PagerDuty
Events), any key of a webhook's ``details``. As in Alertmanager, a missing field reads
as "" (so ``not_equals`` matches it and ``equals ""`` too); ``exists`` means non-empty.
Regular expressions match the whole value (anchored, like Alertmanager's ``=~``).

Templates (links, dedup key) replace ``{{ F }}`` with the field's value ("" if absent).

Compiling is done once per integration and cached (``paging/rules_cache.py``); what
runs per alert is a few closures and dictionary reads.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from paging.alert_event import AlertEvent

EVENT_FIELDS = ("title", "severity", "source", "alert_key", "group_key")
VALUE_OPS = ("equals", "not_equals", "regex", "not_regex", "in", "exists")
TIME_OPS = ("business_hours", "outside_business_hours")
OPS = VALUE_OPS + TIME_OPS
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Getter = Callable[[AlertEvent], str]
Check = Callable[[AlertEvent, datetime], bool]

_FIELD_RE = re.compile(r"^[A-Za-z_][\w-]*(\.[^.\s{}]+)*$")
_TEMPLATE_RE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def _text(value: Any) -> str:
    """A field's value as the conditions compare it: absent = ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def field_check(name: str) -> None:
    """Raise ValueError unless ``name`` is a field a condition can read."""
    if not isinstance(name, str) or not _FIELD_RE.match(name):
        raise ValueError(
            f"{name!r} is not a field: use labels.NAME, annotations.NAME, a details path"
            f" (custom_details.NAME) or one of {', '.join(EVENT_FIELDS)}"
        )


def field_getter(name: str) -> Getter:
    """A function reading field ``name`` of an event as text (see the module docstring)."""
    field_check(name)
    if name in EVENT_FIELDS:
        return lambda event: _text(getattr(event, name))
    path = tuple(name.split("."))
    if len(path) == 1:
        (key,) = path
        return lambda event: _text(event.details.get(key))
    if len(path) == 2:
        outer, inner = path

        def read2(event: AlertEvent) -> str:
            part = event.details.get(outer)
            return _text(part.get(inner)) if isinstance(part, dict) else ""

        return read2

    def read(event: AlertEvent) -> str:
        value: Any = event.details
        for key in path:
            if not isinstance(value, dict):
                return ""
            value = value.get(key)
        return _text(value)

    return read


# --- templates --------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """``"https://runbooks.example.com/{{ labels.alertname }}"``, compiled."""

    source: str
    parts: tuple[str | Getter, ...]

    def render(self, event: AlertEvent, *, url: bool = False) -> str:
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                value = part(event)
                # In a URL a value is one piece of it, whatever characters it holds.
                out.append(quote(value, safe="-_.~") if url else value)
        return "".join(out)

    @property
    def fields(self) -> bool:
        return any(not isinstance(p, str) for p in self.parts)


def template_compile(text: str) -> Template:
    """Compile ``text``; ValueError names a bad field or an unclosed ``{{``."""
    parts: list[str | Getter] = []
    at = 0
    for match in _TEMPLATE_RE.finditer(text):
        literal = text[at : match.start()]
        if "{{" in literal or "}}" in literal:
            raise ValueError("'{{' and '}}' must come in pairs around a field name")
        if literal:
            parts.append(literal)
        parts.append(field_getter(match.group(1)))
        at = match.end()
    tail = text[at:]
    if "{{" in tail or "}}" in tail:
        raise ValueError("'{{' and '}}' must come in pairs around a field name")
    if tail:
        parts.append(tail)
    return Template(source=text, parts=tuple(parts))


# --- conditions -------------------------------------------------------------------------


def days_parse(text: str) -> frozenset[int]:
    """``"mon-fri"``, ``"sat,sun"``, ``"mon-wed,fri"`` -> weekday numbers (Monday 0)."""
    days: set[int] = set()
    for piece in str(text).lower().replace(" ", "").split(","):
        first, _, last = piece.partition("-")
        if first not in DAY_NAMES or (last and last not in DAY_NAMES):
            raise ValueError(f"{text!r}: name days as mon, tue, … sun, e.g. 'mon-fri' or 'sat,sun'")
        a = DAY_NAMES.index(first)
        b = DAY_NAMES.index(last) if last else a
        if b < a:
            raise ValueError(f"{text!r}: a range goes forward in the week ('mon-fri')")
        days.update(range(a, b + 1))
    return frozenset(days)


def hours_parse(text: str) -> tuple[time, time]:
    """``"08:00-18:00"`` -> (08:00, 18:00); the end is exclusive and after the start."""
    first, sep, last = str(text).replace(" ", "").partition("-")
    try:
        start, end = time.fromisoformat(first), time.fromisoformat(last)
    except ValueError:
        raise ValueError(f"{text!r}: give hours as HH:MM-HH:MM, e.g. '08:00-18:00'") from None
    if not sep or end <= start:
        raise ValueError(f"{text!r}: the end must be after the start, e.g. '08:00-18:00'")
    return start, end


@dataclass
class BusinessHours:
    """Business hours in a zone, minus the days of a holiday calendar."""

    zone: ZoneInfo
    days: frozenset[int]
    start: time
    end: time
    holidays: frozenset[date] = frozenset()
    # One answer per delivery: every alert of it is evaluated at the same instant.
    _last: tuple[datetime, bool] | None = None

    def contains(self, at: datetime) -> bool:
        last = self._last
        if last is not None and last[0] == at:
            return last[1]
        local = at.astimezone(self.zone)
        inside = (
            local.weekday() in self.days
            and self.start <= local.time() < self.end
            and local.date() not in self.holidays
        )
        self._last = (at, inside)
        return inside


def _label_check(outer: str, inner: str, op: str, value: Any) -> Check | None:
    """The common case, ``labels.X`` (any two-level field) compared with a string, as one
    closure: no getter call per alert. None for what the generic path does."""

    def read(event: AlertEvent) -> str:
        part = event.details.get(outer)
        if part.__class__ is not dict:
            return ""
        found = part.get(inner)
        return found if found.__class__ is str else _text(found)

    if op in ("equals", "not_equals"):
        want, same = _text(value), op == "equals"

        def compare(event: AlertEvent, _now: datetime) -> bool:
            part = event.details.get(outer)
            found = part.get(inner) if part.__class__ is dict else None
            if found.__class__ is not str:
                found = _text(found)
            return (found == want) is same

        return compare
    if op == "in":
        wanted = frozenset(_text(v) for v in value or ())
        return lambda event, _now: read(event) in wanted
    if op in ("regex", "not_regex"):
        match = re.compile(str(value)).fullmatch
        if op == "regex":
            return lambda event, _now: match(read(event)) is not None
        return lambda event, _now: match(read(event)) is None
    return None


def _compile_value_condition(cond: dict[str, Any]) -> Check:
    name, op, value = cond["field"], cond["op"], cond.get("value")
    path = name.split(".")
    if len(path) == 2 and name not in EVENT_FIELDS:
        field_check(name)
        fast = _label_check(path[0], path[1], op, value)
        if fast is not None:
            return fast
    get = field_getter(name)
    if op == "equals":
        want = _text(value)
        return lambda event, _now: get(event) == want
    if op == "not_equals":
        want = _text(value)
        return lambda event, _now: get(event) != want
    if op in ("regex", "not_regex"):
        pattern = re.compile(str(value))
        if op == "regex":
            return lambda event, _now: pattern.fullmatch(get(event)) is not None
        return lambda event, _now: pattern.fullmatch(get(event)) is None
    if op == "in":
        wanted = frozenset(_text(v) for v in value or ())
        return lambda event, _now: get(event) in wanted
    if op == "exists":
        present = value is not False
        return lambda event, _now: (get(event) != "") is present
    raise ValueError(f"unknown operator {op!r}")


def condition_compile(
    cond: dict[str, Any], holidays: Callable[[str], frozenset[date]] | None = None
) -> Check:
    """One condition as a function of (event, now). ``holidays(calendar name)`` gives a
    calendar's dates (the cache loads them; validation passes none)."""
    op = cond.get("op")
    if op in TIME_OPS:
        start, end = hours_parse(cond.get("hours") or "08:00-18:00")
        calendar = cond.get("calendar") or ""
        hours = BusinessHours(
            zone=ZoneInfo(cond.get("time_zone") or "UTC"),
            days=days_parse(cond.get("days") or "mon-fri"),
            start=start,
            end=end,
            holidays=holidays(calendar) if (holidays and calendar) else frozenset(),
        )
        if op == "business_hours":
            return lambda _event, now: hours.contains(now)
        return lambda _event, now: not hours.contains(now)
    return _compile_value_condition(cond)


def conditions_compile(
    conditions: list[dict[str, Any]],
    match: str = "all",
    holidays: Callable[[str], frozenset[date]] | None = None,
) -> Check:
    """All (or any) of ``conditions``; no conditions matches every alert."""
    checks = tuple(condition_compile(c, holidays) for c in conditions)
    if not checks:
        return lambda _event, _now: True
    if len(checks) == 1:
        return checks[0]
    if match == "any":

        def any_of(event: AlertEvent, now: datetime) -> bool:
            # A plain loop: any() over a generator costs more per alert on the hot path.
            for check in checks:  # noqa: SIM110
                if check(event, now):
                    return True
            return False

        return any_of

    def all_of(event: AlertEvent, now: datetime) -> bool:
        for check in checks:  # noqa: SIM110
            if not check(event, now):
                return False
        return True

    return all_of


# --- alert rules ------------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledRule:
    id: int
    name: str
    matches: Check
    continue_matching: bool
    service_id: int | None
    severity: str
    priority: int | None
    urgency: str
    suppress: bool
    links: tuple[tuple[Template, Template], ...]  # (text, href)
    dedup_key: Template | None
    # "route to postgresql, priority P2": for the timeline, written once per rule, and
    # the whole line when it is the only rule that matched.
    actions_text: str = ""
    alone_text: str = ""


def rule_compile(
    *,
    id: int,  # noqa: A002 - the row's id
    name: str,
    conditions: list[dict[str, Any]],
    match: str,
    continue_matching: bool,
    service: Any,
    severity: str,
    priority: int | None,
    urgency: str,
    suppress: bool,
    links: list[dict[str, str]],
    dedup_key: str,
    holidays: Callable[[str], frozenset[date]] | None = None,
) -> CompiledRule:
    """One rule's row (or spec) compiled; ``service`` the Service it routes to, or None."""
    done = []
    if service is not None:
        done.append(f"route to {service.name}")
    if severity:
        done.append(f"severity {severity}")
    if priority is not None:
        done.append(f"priority P{priority}")
    if urgency:
        done.append(f"{urgency} urgency")
    if suppress:
        done.append("suppress")
    if links:
        done.append(f"{len(links)} link(s)")
    if dedup_key:
        done.append(f"dedup key {dedup_key}")
    return CompiledRule(
        id=id,
        name=name,
        matches=conditions_compile(conditions, match, holidays),
        continue_matching=continue_matching,
        service_id=service.pk if service is not None else None,
        severity=severity,
        priority=priority,
        urgency=urgency,
        suppress=suppress,
        links=tuple(
            (template_compile(link.get("text", "")), template_compile(link["href"]))
            for link in links
        ),
        dedup_key=template_compile(dedup_key) if dedup_key else None,
        actions_text=", ".join(done),
        alone_text=f"rule '{name}' matched" + (f": {', '.join(done)}" if done else ""),
    )


@dataclass(slots=True)
class RuleOutcome:
    """What the matching rules decided for one alert (unset = as the alert says)."""

    rules: list[str] = field(default_factory=list)
    service_id: int | None = None
    severity: str = ""
    priority: int | None = None
    urgency: str = ""
    suppressed_by: str = ""
    links: list[dict[str, str]] = field(default_factory=list)
    dedup_key: str = ""
    # The rules that matched, for ``describe``.
    matched: list[CompiledRule] = field(default_factory=list)

    def describe(self) -> str:
        """ "rule 'x' matched: route to postgresql, priority P1" for the timeline."""
        if len(self.matched) == 1:
            return self.matched[0].alone_text
        parts = [
            f"'{rule.name}'" + (f" ({rule.actions_text})" if rule.actions_text else "")
            for rule in self.matched
        ]
        return f"rules {', '.join(parts)} matched"


@dataclass(frozen=True)
class RuleSet:
    """An integration's compiled rules and the generated function that says which of them
    an alert matches (``paging/rule_matcher.py``); what the ingest runs."""

    rules: tuple[CompiledRule, ...]
    match: Callable[[AlertEvent, datetime], list[int]]

    def __len__(self) -> int:
        return len(self.rules)

    def __iter__(self) -> Iterator[CompiledRule]:
        return iter(self.rules)


def _act(outcome: RuleOutcome, rule: CompiledRule, event: AlertEvent) -> None:
    outcome.rules.append(rule.name)
    outcome.matched.append(rule)
    if rule.service_id is not None:
        outcome.service_id = rule.service_id
    if rule.severity:
        outcome.severity = rule.severity
    if rule.priority is not None:
        outcome.priority = rule.priority
    if rule.urgency:
        outcome.urgency = rule.urgency
    if rule.suppress:
        outcome.suppressed_by = f"rule {rule.name}"
    for text, href in rule.links:
        outcome.links.append(
            {"href": href.render(event, url=True), "text": text.render(event) or "Link"}
        )
    if rule.dedup_key is not None:
        outcome.dedup_key = rule.dedup_key.render(event)[:255]


def rule_outcome(
    rules: Iterable[CompiledRule] | RuleSet, event: AlertEvent, now: datetime
) -> RuleOutcome | None:
    """Run ``rules`` in order over ``event`` (the first match decides, unless it says
    continue); None when none matched."""
    if isinstance(rules, RuleSet):
        indexes = rules.match(event, now)
        if not indexes:
            return None
        outcome = RuleOutcome()
        for index in indexes:
            _act(outcome, rules.rules[index], event)
        return outcome
    found: RuleOutcome | None = None
    for rule in rules:
        if not rule.matches(event, now):
            continue
        if found is None:
            found = RuleOutcome()
        _act(found, rule, event)
        if not rule.continue_matching:
            break
    return found


# --- inhibit rules ----------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledInhibition:
    id: int
    name: str
    source: Check
    target: Check
    equal: tuple[Getter, ...]
    equal_names: tuple[str, ...]

    def key(self, event: AlertEvent) -> str:
        """This rule's id and a digest of the event's ``equal`` values: a source and a
        target with the same key go together (missing labels count as "" on both)."""
        values = "\x1f".join(get(event) for get in self.equal)
        return f"{self.id}:{hashlib.sha256(values.encode()).hexdigest()[:40]}"

    def values(self, event: AlertEvent) -> str:
        """``instance=db-1`` for the timeline."""
        return ", ".join(
            f"{name}={get(event)}" for name, get in zip(self.equal_names, self.equal, strict=True)
        )
