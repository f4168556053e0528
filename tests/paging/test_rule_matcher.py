"""The generated rule matcher (paging/rule_matcher.py) says exactly what the interpreted
closures say, for any rules and alerts (hypothesis), and keeps rule values out of its
source text."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from paging.alert_event import AlertEvent
from paging.alert_rules import RuleSet, rule_compile, rule_outcome
from paging.rule_matcher import rules_matcher

VALUES = ["", "a", "b", "db-1", "web-2", "5", "x.y"]
FIELDS = ["labels.service", "labels.env", "labels.instance", "custom_details.n", "severity",
          "title", "annotations.summary", "a.b.c", "service"]  # fmt: skip
REGEXES = ["a", "db-.*", ".*", "[0-9]+", "(a|b)", "x\\.y", ""]

value = st.sampled_from(VALUES)
condition = st.one_of(
    st.builds(
        lambda f, op, v: {"field": f, "op": op, "value": v},
        st.sampled_from(FIELDS),
        st.sampled_from(["equals", "not_equals"]),
        value,
    ),
    st.builds(
        lambda f, op, v: {"field": f, "op": op, "value": v},
        st.sampled_from(FIELDS),
        st.sampled_from(["regex", "not_regex"]),
        st.sampled_from(REGEXES),
    ),
    st.builds(
        lambda f, v: {"field": f, "op": "in", "value": v},
        st.sampled_from(FIELDS),
        st.lists(value, min_size=1, max_size=3),
    ),
    st.builds(
        lambda f, v: {"field": f, "op": "exists", "value": v},
        st.sampled_from(FIELDS),
        st.booleans(),
    ),
    st.builds(
        lambda op, days: {
            "op": op,
            "time_zone": "Europe/Berlin",
            "days": days,
            "hours": "08:00-18:00",
        },
        st.sampled_from(["business_hours", "outside_business_hours"]),
        st.sampled_from(["mon-fri", "sat,sun"]),
    ),
)
rule = st.tuples(st.lists(condition, max_size=4), st.sampled_from(["all", "any"]), st.booleans())
detail_value = st.one_of(value, st.integers(0, 9), st.none(), st.booleans())
event = st.builds(
    lambda labels, n, summary, severity, title, nested: AlertEvent(
        action="trigger",
        alert_key="k",
        group_key="g",
        title=title,
        severity=severity,
        details={
            "labels": labels,
            "custom_details": {"n": n},
            "annotations": summary,
            "a": nested,
            "service": "top-level",
        },
    ),
    st.dictionaries(st.sampled_from(["service", "env", "instance"]), value),
    detail_value,
    st.one_of(st.none(), st.just("not a dict"), st.dictionaries(st.just("summary"), value)),
    st.sampled_from(["critical", "warning", "info"]),
    value,
    st.one_of(st.none(), st.just({"b": {"c": "a"}}), st.just({"b": "flat"})),
)
now = st.sampled_from(
    [datetime(2026, 3, 2, 9, 0, tzinfo=UTC), datetime(2026, 3, 7, 12, 0, tzinfo=UTC)]
)


def compiled(rules: list) -> list:
    return [
        rule_compile(
            id=n,
            name=f"r{n}",
            conditions=conditions,
            match=match,
            continue_matching=keep_going,
            service=None,
            severity="",
            priority=None,
            urgency="",
            suppress=False,
            links=[],
            dedup_key="",
        )
        for n, (conditions, match, keep_going) in enumerate(rules)
    ]


@settings(max_examples=400, deadline=None)
@given(st.lists(rule, max_size=8), st.lists(event, min_size=1, max_size=4), now)
def test_generated_matcher_agrees_with_the_closures(rules, events, at) -> None:
    closures = compiled(rules)
    generated = RuleSet(rules=tuple(closures), match=rules_matcher(rules))
    for alert in events:
        slow = rule_outcome(closures, alert, at)
        fast = rule_outcome(generated, alert, at)
        assert (slow.rules if slow else None) == (fast.rules if fast else None)


def test_rule_values_never_reach_the_source_text(monkeypatch) -> None:
    sources = []
    real_compile = compile

    def spy(source, *args, **kwargs):  # type: ignore[no-untyped-def]
        sources.append(source)
        return real_compile(source, *args, **kwargs)

    monkeypatch.setattr("builtins.compile", spy)
    hostile = "'); import os; os.system('echo pwned') #"
    pattern = hostile.replace("(", "\\(").replace(")", "\\)")
    conditions = [
        {"field": "labels.x", "op": "equals", "value": hostile},
        {"field": "labels.y", "op": "regex", "value": pattern},
    ]
    match = rules_matcher([(conditions, "any", False)])
    assert "pwned" not in sources[-1] and "labels" not in sources[-1]
    alert = AlertEvent(
        action="trigger", alert_key="k", group_key="g", details={"labels": {"x": hostile}}
    )
    assert match(alert, datetime(2026, 3, 2, tzinfo=UTC)) == [0]
