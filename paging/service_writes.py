"""Writing services (with their policy per priority), their integrations and priority
levels (API, admin, config file) and maintenance windows (API, admin). Each write is
recorded in the audit trail. Escalation policies: ``paging.policy_writes``."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction
from django.utils import timezone

from oncall.audit.services import audit_record, audit_snapshot, audited_delete, audited_save
from paging.kick import kick_engine
from paging.models import (
    Incident,
    Integration,
    MaintenanceWindow,
    PriorityLevel,
    Service,
    ServicePriorityPolicy,
)


def service_save(
    *,
    service: Service | None,
    fields: dict[str, object],
    priority_policies: Mapping[int, int] | None = None,
) -> Service:
    """Create or change a service (API, admin, config file); with ``priority_policies``
    ({priority: policy id}), also make its escalation policies per priority exactly those."""
    with transaction.atomic():
        service = audited_save(service or Service(), fields)
        if priority_policies is not None:
            service_priority_policies_save(service=service, policies=priority_policies)
        return service


def service_priority_policies_save(*, service: Service, policies: Mapping[int, int]) -> bool:
    """Make the service's per-priority policies exactly ``policies`` ({priority: policy
    id}), each row created, changed or deleted on the audit trail; True if any changed.

    Open incidents keep the policy they have; new incidents of that priority take it.
    """
    changed = False
    with transaction.atomic():
        existing = {row.priority: row for row in service.priority_policies.all()}
        for priority, old in sorted(existing.items()):
            if priority not in policies:
                audited_delete(old)
                changed = True
        for priority, policy_id in sorted(policies.items()):
            row = existing.get(priority)
            if row is not None and row.escalation_policy_id == policy_id:
                continue
            row = row or ServicePriorityPolicy(service=service, priority=priority)
            audited_save(row, {"escalation_policy_id": policy_id})
            changed = True
    return changed


def priority_level_save(*, level: PriorityLevel | None, fields: dict[str, object]) -> PriorityLevel:
    """Create or change a priority level (API, admin, config file)."""
    with transaction.atomic():
        return audited_save(level or PriorityLevel(), fields)


def priority_level_delete(*, level: PriorityLevel) -> None:
    """Stop using a level: incidents graded with it keep their number (shown as ``P5``)."""
    with transaction.atomic():
        audited_delete(level)


def service_delete(*, service: Service) -> None:
    with transaction.atomic():
        audited_delete(service)


def integration_save(*, integration: Integration | None, fields: dict[str, object]) -> Integration:
    """Create or change an integration; its token is made on creation (the audit shows
    only its last 4 characters)."""
    with transaction.atomic():
        return audited_save(integration or Integration(), fields)


def integration_delete(*, integration: Integration) -> None:
    """Delete an integration: its URL (or routing key) stops taking alerts at once."""
    with transaction.atomic():
        audited_delete(integration)


def _held_incidents_recheck(service_ids: set[int]) -> None:
    """Incidents held by a maintenance window of these services are due now: the engine
    looks again (a window shortened or deleted releases them; one still running holds
    them until its end)."""
    held = Incident.objects.filter(
        service_id__in=service_ids,
        status=Incident.Status.TRIGGERED,
        in_maintenance=True,
        escalation_started_at__isnull=True,
        next_due_at__isnull=False,
    ).update(next_due_at=timezone.now())
    if held:
        kick_engine()


def maintenance_window_save(
    *, window: MaintenanceWindow | None, fields: dict[str, object]
) -> MaintenanceWindow:
    """Create or change a maintenance window (API, admin)."""
    with transaction.atomic():
        window = window or MaintenanceWindow()
        before = audit_snapshot(window)
        services = {window.service_id} if window.service_id else set()
        for name, value in fields.items():
            setattr(window, name, value)
        window.save()
        _held_incidents_recheck(services | {window.service_id})
        audit_record("update" if before else "create", window, before=before)
    return window


def maintenance_window_delete(*, window: MaintenanceWindow) -> None:
    with transaction.atomic():
        # Incident rows first, the audit trail last: an ack locks them in that order too.
        _held_incidents_recheck({window.service_id})
        audit_record("delete", window)
        window.delete()
