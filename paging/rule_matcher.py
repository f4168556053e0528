"""An integration's rules as one generated function: which rules an alert matches.

Evaluating the rules one closure per condition costs a call and two dictionary reads
per condition; 20 rules cost ~6 µs per alert that way, most of the CPU the rules add to
an ingest (``python -m bench alert_rules``). The function built here reads each field
at most once per alert, on first use, and tests the conditions inline, in rule order
(``and``/``or`` short-circuit as the closures do), returning the indexes of the rules
that match under the first-match / ``continue`` rule.

Safety: the generated source holds only names it makes up (``v0``, ``C3``, ``R1``…),
operators and rule indexes. Every value from a rule — strings, lists, patterns, field
names — lives in the function's namespace, never in its text. The interpreted
closures of ``paging/alert_rules.py`` stay the reference: a property test checks that
both give the same matches (``tests/paging/test_rule_matcher.py``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from paging.alert_event import AlertEvent
from paging.alert_rules import TIME_OPS, _text, condition_compile, field_getter

Matcher = Callable[[AlertEvent, datetime], list[int]]
_MISSING = object()


class _Source:
    """The function being written: its lines, its namespace, its field slots."""

    def __init__(self, holidays: Callable[[str], frozenset[date]] | None) -> None:
        self.namespace: dict[str, Any] = {"MISSING": _MISSING}
        self.fields: dict[str, int] = {}
        self.holidays = holidays

    def constant(self, prefix: str, value: Any) -> str:
        name = f"{prefix}{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def field(self, name: str) -> str:
        """An expression for the field's text, read once per alert."""
        if name not in self.fields:
            slot = len(self.fields)
            self.fields[name] = slot
            self.namespace[f"R{slot}"] = field_getter(name)
        slot = self.fields[name]
        return f"(v{slot} if v{slot} is not MISSING else (v{slot} := R{slot}(event)))"

    def condition(self, cond: dict[str, Any]) -> str:
        op = cond["op"]
        if op in TIME_OPS:
            # The closure holds the business-hours check and its per-instant memo.
            check = self.constant("T", condition_compile(cond, self.holidays))
            return f"{check}(event, now)"
        value, read = cond.get("value"), self.field(cond["field"])
        if op == "equals":
            return f"({read} == {self.constant('C', _text(value))})"
        if op == "not_equals":
            return f"({read} != {self.constant('C', _text(value))})"
        if op in ("regex", "not_regex"):
            match = self.constant("M", re.compile(str(value)).fullmatch)
            return f"({match}({read}) is {'not ' if op == 'regex' else ''}None)"
        if op == "in":
            return f"({read} in {self.constant('C', frozenset(_text(v) for v in value or ()))})"
        if op == "exists":
            return f"({read} {'!=' if value is not False else '=='} '')"
        raise ValueError(f"unknown operator {op!r}")


def rules_matcher(
    rules: list[tuple[list[dict[str, Any]], str, bool]],
    holidays: Callable[[str], frozenset[date]] | None = None,
) -> Matcher:
    """``rules``: (conditions, "all" | "any", continue) per rule, in order."""
    source = _Source(holidays)
    body = []
    for index, (conditions, match, keep_going) in enumerate(rules):
        parts = [source.condition(c) for c in conditions]
        test = f" {'or' if match == 'any' else 'and'} ".join(parts) if parts else "True"
        body.append(f"    if {test}:")
        body.append(f"        out.append({index})")
        if not keep_going:
            body.append("        return out")
    slots = "".join(f"v{n} = " for n in range(len(source.fields)))
    lines = [
        "def match(event, now):",
        "    out = []",
        *([f"    {slots}MISSING"] if slots else []),
        *body,
        "    return out",
    ]
    namespace = source.namespace
    exec(_code("\n".join(lines)), namespace)  # noqa: S102 - see the module docstring
    return namespace["match"]


@functools.lru_cache(maxsize=256)
def _code(text: str) -> Any:
    """Compiled once per shape of rules: reloading the same rules (every few seconds, see
    ``paging/rules_cache.py``) reuses it; compiling 20 rules costs ~2 ms."""
    return compile(text, "<alert rules>", "exec")
