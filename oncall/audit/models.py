"""The audit trail: one append-only, hash-chained row per change (see oncall/audit/README.md)."""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models


class AppendOnlyError(Exception):
    """Audit entries are never changed or deleted."""


def _refuse(*args: Any, **kwargs: Any) -> NoReturn:
    raise AppendOnlyError("audit entries are append-only: they cannot be changed or deleted")


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    update = _refuse
    delete = _refuse
    bulk_update = _refuse
    update_or_create = _refuse


class AuditEntry(models.Model):
    """Who changed what, when: written by the services in the transaction of the change."""

    class ActorKind(models.TextChoices):
        USER = "user", "User (admin or API session)"
        TOKEN = "token", "API token owner"
        PROVIDER = "provider", "Provider callback"
        CONFIG = "config", "Config file (oncall_apply)"
        SYSTEM = "system", "System (engine, tasks, commands)"

    # Position in the chain, 1, 2, 3…: a gap is a deleted entry, a repeat an inserted one.
    seq = models.PositiveBigIntegerField(db_index=True)
    at = models.DateTimeField(db_index=True)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_label = models.CharField(max_length=255)
    # No database constraint and no cascade: entries outlive the users they name.
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    object_type = models.CharField(max_length=64)  # "<app_label>.<model>"
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=255, blank=True)
    # The object it belongs to ("schedules.schedule:7" for a layer or an override), so
    # that object's History page shows it too.
    parent = models.CharField(max_length=100, blank=True)
    action = models.CharField(max_length=32)
    # {field: [before, after]} for the fields that changed; secrets masked.
    changes = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AuditEntryQuerySet.as_manager()

    # What the API, the CSV export and the admin page show, in this order.
    COLUMNS = (
        "seq",
        "at",
        "actor_kind",
        "actor_label",
        "actor_user",
        "object_type",
        "object_id",
        "object_repr",
        "parent",
        "action",
        "changes",
        "note",
        "prev_hash",
        "hash",
    )

    class Meta:
        ordering = ["-seq"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["object_type", "object_id", "seq"]),
            models.Index(fields=["parent", "seq"]),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.actor_label} {self.action} {self.object_type} {self.object_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            _refuse()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse()
