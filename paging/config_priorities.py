"""Config-file section ``priorities`` (50): the priority levels in use and their targets.

```yaml
priorities:
  - priority: P1            # identity: P1 (most urgent) .. P5
    name: SEV1              # what people call it (unique, any case)
    description: Customer-facing outage
    ack_within_minutes: 5   # response-time target; null = none; omitted = P1's default
    resolve_within_minutes: 60
```

The section is the whole list: levels the file leaves out are reported (`?`) and
deleted with ``--prune``; a file without the section leaves the levels alone. With no
level at all the defaults apply (``paging.priorities.DEFAULT_LEVELS``). A service's
``priority_policies`` (``paging/config_section.py``) refer to these levels.
"""

from __future__ import annotations

from typing import Any

from oncall.config.fields import (
    Field,
    clean_model,
    describe_diff,
    diff,
    read_list,
    read_mapping,
)
from oncall.config.registry import ApplyContext, ConfigSection, register_section
from paging.models import PriorityLevel
from paging.priorities import DEFAULT_LEVELS
from paging.service_writes import priority_level_delete, priority_level_save

_DEFAULT = object()  # a target the file leaves out: the level's default
PRIORITY_FIELDS = {
    "priority": Field(str, required=True),
    "name": Field(str, default=""),
    "description": Field(str, default=""),
    "ack_within_minutes": Field(int, default=_DEFAULT),
    "resolve_within_minutes": Field(int, default=_DEFAULT),
}
TARGETS = ("ack_within_minutes", "resolve_within_minutes")
CODES = [level.code for level in DEFAULT_LEVELS]


def _target(ctx: ApplyContext, raw: Any, default: int | None, path: str) -> int | None:
    if raw is _DEFAULT:
        return default
    if raw is None:
        return None
    if raw < 1:
        ctx.fail(path, "must be 1 or more minutes (null = no target)")
    return raw


def priorities_apply(value: Any, ctx: ApplyContext) -> None:
    ctx.declared.setdefault("priorities", {})
    for i, raw in enumerate([] if value is None else read_list(ctx, value, "priorities")):
        path = f"priorities[{i}]"
        # null is a value here ("no target"), which the generic reader refuses.
        nulls = {k for k in TARGETS if isinstance(raw, dict) and k in raw and raw[k] is None}
        if nulls:
            raw = {k: v for k, v in raw.items() if k not in nulls}
        data = read_mapping(ctx, raw, path, PRIORITY_FIELDS)
        data.update(dict.fromkeys(nulls))
        code = data["priority"].strip().upper()
        if code not in CODES:
            ctx.fail(f"{path}.priority", f"{data['priority']!r} is not one of: {', '.join(CODES)}")
        ctx.declare("priorities", code, f"{path}.priority")
        default = DEFAULT_LEVELS[CODES.index(code)]
        wanted = {
            "name": data["name"].strip() or code,
            "description": data["description"],
            "ack_within_minutes": _target(
                ctx, data["ack_within_minutes"], default.ack_within_minutes,
                f"{path}.ack_within_minutes",
            ),
            "resolve_within_minutes": _target(
                ctx, data["resolve_within_minutes"], default.resolve_within_minutes,
                f"{path}.resolve_within_minutes",
            ),
        }  # fmt: skip
        label = f"priorities[{code}]"
        level = PriorityLevel.objects.filter(level=default.level).first()
        if level is None:
            level = PriorityLevel(level=default.level, **wanted)
            _level_check(ctx, level, path)
            priority_level_save(level=level, fields={})
            ctx.record("create", label, wanted["name"])
            continue
        changes = diff(level, wanted)
        if changes:
            for name, (_old, new) in changes.items():
                setattr(level, name, new)
            _level_check(ctx, level, path)
            priority_level_save(level=level, fields={})
            ctx.record("update", label, describe_diff(changes))
    declared = set(ctx.declared["priorities"])
    for level in PriorityLevel.objects.order_by("level"):
        if f"P{level.level}" not in declared:
            ctx.not_in_file(
                f"priorities[P{level.level}]", lambda lv=level: priority_level_delete(level=lv)
            )


def _level_check(ctx: ApplyContext, level: PriorityLevel, path: str) -> None:
    # Names are unique across levels in any case: say which level has it. (Renaming
    # SEV1 <-> SEV2 in one file needs two applies, or --prune of one.)
    taken = PriorityLevel.objects.filter(name__iexact=level.name).exclude(level=level.level).first()
    if taken is not None:
        ctx.fail(f"{path}.name", f"{level.name!r} is already the name of P{taken.level}")
    clean_model(ctx, level, path)


def priorities_export() -> list[dict[str, Any]]:
    out = []
    for level in PriorityLevel.objects.order_by("level"):
        item: dict[str, Any] = {"priority": f"P{level.level}", "name": level.name}
        if level.description:
            item["description"] = level.description
        item["ack_within_minutes"] = level.ack_within_minutes
        item["resolve_within_minutes"] = level.resolve_within_minutes
        out.append(item)
    return out


register_section(
    ConfigSection(key="priorities", order=50, apply=priorities_apply, export=priorities_export)
)
