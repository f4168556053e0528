"""What an object looks like to the audit trail, and what changed between two looks.

A snapshot is a JSON-ready dict of the object's fields as stored (foreign keys as ids),
read from the database so that an instance already edited in memory (an admin form)
still gives the state before the change; some models add the rows they own (a layer's
members, a policy's steps). Secret values are masked before anything is stored.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable
from typing import Any

from django.db import models

from oncall.channel_registry import target_kind
from oncall.security.secrets import secret_mask

Snapshot = dict[str, Any]

# Field names whose values are secrets: integration tokens and PagerDuty routing keys,
# API and feed tokens, Slack signing secrets, Twilio auth tokens, passwords, phone codes.
SECRET_NAMES = ("token", "secret", "password", "routing_key", "code_hash", "api_key")
SECRET_EXACT = {"code", "key"}
# Bookkeeping that changes with every write and says nothing about who changed what.
SKIPPED = {"id", "updated_at", "created_at", "rr_cursor"}


def is_secret(name: str) -> bool:
    name = name.lower()
    return name in SECRET_EXACT or any(part in name for part in SECRET_NAMES)


def mask(value: Any, name: str = "") -> Any:
    """A secret as the audit shows it: long tokens keep their last 4 characters (as the
    admin shows them), passwords and codes nothing."""
    if value in (None, ""):
        return value
    text = str(value)
    if len(text) < 16 or "password" in name or "code" in name:
        return "…"
    return secret_mask(text)


def jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


# --- rows some models own, shown as part of them ----------------------------------------


def _engineer_extra(obj: Any) -> Snapshot:
    user = obj.user
    return {
        "username": user.get_username(),
        "email": user.email,
        "is_staff": user.is_staff,
        "is_active": user.is_active,
    }


def _layer_extra(obj: Any) -> Snapshot:
    return {
        "members": list(
            obj.layer_members.order_by("position").values_list("engineer_id", flat=True)
        ),
        "restrictions": [
            {
                "weekdays": r.weekdays,
                "start_time": jsonable(r.start_time),
                "end_time": jsonable(r.end_time),
                "business_hours": r.business_hours,
            }
            for r in obj.restrictions.order_by("id")
        ],
    }


def _schedule_extra(obj: Any) -> Snapshot:
    links = obj.calendar_links.filter(detached_at=None).order_by("calendar_id")
    return {"holiday_calendars": list(links.values_list("calendar_id", flat=True))}


def _target_text(target: Any) -> str:
    kind = target_kind(target.kind)
    if kind is not None and kind.secret:
        return f"{target.kind}:{mask(target.address)}"  # the address is a routing key
    ref = target.engineer_id or target.team_id or target.schedule_id or target.address
    return f"{target.kind}:{ref}"


def _by_id(row: Any) -> int:
    return row.pk


def _policy_extra(obj: Any) -> Snapshot:
    steps = obj.steps.order_by("position").prefetch_related("targets")
    return {
        "steps": [
            {
                "delay_minutes": step.delay_minutes,
                "targets": [_target_text(t) for t in sorted(step.targets.all(), key=_by_id)],
            }
            for step in steps
        ]
    }


EXTRAS: dict[str, Callable[[Any], Snapshot]] = {
    "oncall.engineer": _engineer_extra,
    "schedules.layer": _layer_extra,
    "schedules.schedule": _schedule_extra,
    "paging.escalationpolicy": _policy_extra,
}
# Models whose audit shows only these fields (the rest is engine bookkeeping). An
# incident's snapshot reads nothing more than its row: acks are on the paging hot path
# (who it was reassigned to is in the reassign entry's note).
ONLY: dict[str, tuple[str, ...]] = {
    "paging.incident": (
        "status",
        "acknowledged_by_id",
        "acknowledged_via",
        "resolved_by_id",
        "resolved_via",
        "escalation_policy_id",
        "escalation_step",
        "escalation_loop",
        "priority",
    ),
}


# Where an object's changes also show: attribute path from it to its parent.
PARENTS: dict[str, str] = {
    "oncall.teammembership": "team",
    "oncall.contactmethod": "engineer",
    "oncall.notificationrule": "engineer",
    "schedules.layer": "schedule",
    "schedules.restriction": "layer.schedule",
    "schedules.override": "schedule",
    "schedules.swaprequest": "schedule",
    "schedules.timeoff": "engineer",
    "paging.integration": "service",
    "paging.maintenancewindow": "service",
    "paging.serviceprioritypolicy": "service",
    "paging.snssubscription": "integration",
}


def object_type(obj: models.Model | type[models.Model]) -> str:
    return obj._meta.label_lower


def parent_of(obj: models.Model) -> str:
    """ "<app>.<model>:<id>" of the object ``obj`` belongs to, or ""."""
    path = PARENTS.get(object_type(obj))
    if path is None:
        return ""
    parent: Any = obj
    for name in path.split("."):
        parent = getattr(parent, name, None)
        if parent is None:
            return ""
    return f"{object_type(parent)}:{parent.pk}"


def snapshot(obj: models.Model) -> Snapshot:
    """The stored state of ``obj`` (read again from the database); {} when not saved."""
    if obj.pk is None:
        return {}
    fresh = type(obj)._base_manager.filter(pk=obj.pk).first()
    if fresh is None:
        return {}
    return snapshot_of(fresh)


def snapshot_of(obj: models.Model) -> Snapshot:
    """The state of this instance as it is in memory."""
    label = object_type(obj)
    only = ONLY.get(label)
    out: Snapshot = {}
    for field in obj._meta.concrete_fields:
        name = field.attname
        if name in SKIPPED or (only is not None and name not in only):
            continue
        value = getattr(obj, name)
        out[name] = mask(value, name) if is_secret(name) else jsonable(value)
    if label in EXTRAS:
        out.update(EXTRAS[label](obj))
    return out


def changes_between(before: Snapshot, after: Snapshot) -> dict[str, list[Any]]:
    """{field: [before, after]} for every field that differs (absent = None)."""
    return {
        name: [before.get(name), after.get(name)]
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


def changes_masked(changes: dict[str, Any]) -> dict[str, list[Any]]:
    """Given changes ({field: (old, new)}), JSON-ready and with secrets masked."""
    out: dict[str, list[Any]] = {}
    for name, pair in changes.items():
        old, new = pair
        if is_secret(name):
            old, new = mask(old, name), mask(new, name)
        out[name] = [jsonable(old), jsonable(new)]
    return out
