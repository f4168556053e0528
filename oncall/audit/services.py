"""``audit_record``: the one way an entry is written, called by the services.

Call it inside the transaction of the change, so a change that rolls back leaves no
entry and a committed one always has its entry:

- create: after saving, ``audit_record("create", obj)``;
- update: ``before = audit_snapshot(obj)`` first, then ``audit_record("update", obj,
  before=before)`` after the change (or pass ``changes={field: (old, new)}``);
- delete: ``audit_record("delete", obj)`` just before deleting;
- actions (acknowledge, resolve, …): like an update, with the action's name.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from django.apps import apps
from django.db import models, transaction
from django.utils import timezone

from oncall.audit.actors import current_actor
from oncall.audit.chain import chain_append
from oncall.audit.models import AuditEntry
from oncall.audit.snapshots import (
    Snapshot,
    changes_between,
    changes_masked,
    object_type,
    parent_of,
    snapshot,
    snapshot_of,
)

M = TypeVar("M", bound=models.Model)

audit_snapshot = snapshot
# The state of an instance just read in this transaction (saves a query).
audit_snapshot_of = snapshot_of


def _engineer_user(engineer_id: int) -> tuple[int | None, str]:
    # By label, not by import: the audit trail is the shared base below the people
    # directory (README "Architecture"), which names the engineer to it by id.
    engineer_model = apps.get_model("oncall", "Engineer")
    row = (
        engineer_model.objects.filter(pk=engineer_id)
        .values_list("user_id", "user__username")
        .first()
    )
    return (row[0], row[1]) if row else (None, "")


def audit_record(
    action: str,
    obj: models.Model,
    *,
    before: Snapshot | None = None,
    changes: dict[str, Any] | None = None,
    note: str = "",
    engineer_id: int | None = None,
) -> AuditEntry | None:
    """Append who did ``action`` to ``obj`` now, and what changed.

    ``engineer_id`` names the engineer who acted when the request itself does not (a
    Twilio reply, a Slack button, a signed link): the entry is theirs, through that path.
    An update that changed nothing (a form saved as it was) records nothing.
    """
    if changes is not None:
        diff = changes_masked(changes)
    elif action == "delete":
        diff = changes_between(snapshot(obj) or snapshot_of(obj), {})
    else:
        diff = changes_between(before or {}, snapshot(obj))
        if action == "update" and not diff:
            return None
    actor = current_actor()
    user_id, label = actor.user_id, actor.label
    if engineer_id is not None and actor.kind in (
        AuditEntry.ActorKind.PROVIDER,
        AuditEntry.ActorKind.SYSTEM,
    ):
        user_id, username = _engineer_user(engineer_id)
        label = f"{username} via {label}" if username else label
    entry = AuditEntry(
        at=timezone.now(),
        actor_kind=actor.kind,
        actor_label=label[:255],
        actor_user_id=user_id,
        object_type=object_type(obj),
        object_id=str(obj.pk if obj.pk is not None else ""),
        object_repr=str(obj)[:255],
        parent=parent_of(obj),
        action=action,
        # Exactly what a read back from the database gives, so the hash matches then.
        changes=json.loads(json.dumps(diff, default=str)),
        note=note,
    )
    with transaction.atomic(savepoint=False):
        return chain_append(entry)


def audited_save(obj: M, fields: dict[str, object] | None = None) -> M:
    """Set ``fields`` on ``obj`` (new, or already edited in memory by a form), save it and
    record the create or update. Call inside the change's transaction."""
    before = snapshot(obj)
    for name, value in (fields or {}).items():
        setattr(obj, name, value)
    obj.save()
    audit_record("update" if before else "create", obj, before=before)
    return obj


def audited_delete(obj: models.Model) -> None:
    """Record the deletion of ``obj``, then delete it. Call inside the change's transaction."""
    audit_record("delete", obj)
    obj.delete()
