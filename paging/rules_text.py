"""Conditions and links as lines of text, for the admin's rule form and the rule traces.

One condition per line, read back into the mappings ``paging/rules_spec.py`` checks:

    service="postgresql"             a label (Alertmanager matcher: =, !=, =~, !~)
    annotations.summary=~".*disk.*"  a field path (a name with a dot)
    alert.severity="warning"         the alert's own field (title, severity, source, …)
    env in "prod", "staging"
    runbook exists                   (or: runbook does not exist)
    in business hours mon-fri 08:00-18:00 Europe/Berlin except holidays of Germany
    outside business hours mon-fri 08:00-18:00 Europe/Berlin

One link per line: ``Text | https://…{{ labels.alertname }}`` (or just the URL).
"""

from __future__ import annotations

import json
import re
from typing import Any

from paging.alert_rules import EVENT_FIELDS

_NAME = r"[A-Za-z_][\w.-]*"
_IN = re.compile(rf"^\s*({_NAME})\s+in\s+(.+?)\s*$")
_EXISTS = re.compile(rf"^\s*({_NAME})\s+(exists|does not exist)\s*$")
_TIME = re.compile(
    r"^\s*(in|outside)\s+business\s+hours"
    r"(?:\s+(?P<days>[a-z,-]+))?"
    r"(?:\s+(?P<hours>\d{1,2}:\d{2}-\d{1,2}:\d{2}))?"
    r"(?:\s+(?P<zone>[A-Za-z_+\-/0-9]+?))?"
    r"(?:\s+except\s+holidays\s+of\s+(?P<calendar>.+?))?\s*$",
    re.IGNORECASE,
)
_SYMBOLS = {"equals": "=", "not_equals": "!=", "regex": "=~", "not_regex": "!~"}


def _name(field: str) -> str:
    """How a field is written in a line: labels bare, the alert's own fields as alert.X."""
    if field in EVENT_FIELDS:
        return f"alert.{field}"
    rest = field.removeprefix("labels.")
    return rest if field.startswith("labels.") and "." not in rest else field


def _field(name: str) -> str:
    if name.startswith("alert.") and name[len("alert.") :] in EVENT_FIELDS:
        return name[len("alert.") :]
    return name if "." in name else f"labels.{name}"


def condition_line(cond: dict[str, Any]) -> str:
    op = cond.get("op")
    if op in ("business_hours", "outside_business_hours"):
        word = "in" if op == "business_hours" else "outside"
        text = f"{word} business hours {cond.get('days', 'mon-fri')}"
        text += f" {cond.get('hours', '08:00-18:00')} {cond.get('time_zone', 'UTC')}"
        if cond.get("calendar"):
            text += f" except holidays of {cond['calendar']}"
        return text
    name = _name(cond.get("field", ""))
    value = cond.get("value")
    if op in _SYMBOLS:
        return f"{name}{_SYMBOLS[op]}{json.dumps(value, ensure_ascii=False)}"
    if op == "in":
        return f"{name} in " + ", ".join(json.dumps(v, ensure_ascii=False) for v in value or [])
    if op == "exists":
        return f"{name} exists" if value is not False else f"{name} does not exist"
    return json.dumps(cond)


def condition_from_line(line: str) -> Any:
    """A line as a condition for ``rules_spec.condition_parse`` (a matcher string or a
    mapping); what it cannot read goes through as the string, to fail there with a reason."""
    found = _TIME.match(line)
    if found:
        cond: dict[str, Any] = {
            "op": "business_hours" if found.group(1).lower() == "in" else "outside_business_hours"
        }
        for key, group in (("days", "days"), ("hours", "hours"), ("time_zone", "zone")):
            if found.group(group):
                cond[key] = found.group(group)
        if found.group("calendar"):
            cond["calendar"] = found.group("calendar")
        return cond
    found = _EXISTS.match(line)
    if found:
        return {
            "field": _field(found.group(1)),
            "op": "exists",
            "value": found.group(2) == "exists",
        }
    found = _IN.match(line)
    if found:
        try:
            values = json.loads(f"[{found.group(2)}]")
        except RecursionError:
            return line.strip()  # brackets thousands deep: not a matcher (the reader says so)
        except ValueError:
            values = [v.strip() for v in found.group(2).split(",")]
        return {"field": _field(found.group(1)), "op": "in", "value": values}
    stripped = line.strip()
    for symbol, op in (("!~", "not_regex"), ("=~", "regex"), ("!=", "not_equals"), ("=", "equals")):
        name, sep, raw = stripped.partition(symbol)
        if sep and re.fullmatch(_NAME, name.strip()):
            raw = raw.strip()
            try:
                value = json.loads(raw) if raw.startswith('"') else raw
            except ValueError:
                return stripped  # the spec reader says why
            return {"field": _field(name.strip()), "op": op, "value": value}
    return stripped


def conditions_text(conditions: list[dict[str, Any]]) -> str:
    return "\n".join(condition_line(c) for c in conditions)


def conditions_from_text(text: str) -> list[Any]:
    return [condition_from_line(line) for line in text.splitlines() if line.strip()]


def links_text(links: list[dict[str, str]]) -> str:
    return "\n".join(
        f"{link['text']} | {link['href']}" if link.get("text") else link["href"] for link in links
    )


def links_from_text(text: str) -> list[dict[str, str]]:
    links = []
    for line in text.splitlines():
        if not line.strip():
            continue
        label, sep, href = line.rpartition(" | ")
        links.append(
            {"text": label.strip(), "href": href.strip()} if sep else {"href": line.strip()}
        )
    return links
