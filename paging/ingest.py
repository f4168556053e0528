"""Alerts in: turn parsed AlertEvents into incidents, in one transaction per delivery.

- trigger: opens or joins the open incident of (service, dedup key); the dedup key is
  the event's ``group_key`` when the integration groups by group, else its
  ``alert_key``. The alert row (identity: ``alert_key``) is created or refreshed, so
  repeated deliveries change nothing but counters.
- acknowledge: acknowledges the open incident of that dedup key (via "integration").
- resolve: resolves that alert, and the incident once none of its alerts fire.
- ack/resolve for keys we do not know are dropped, as PagerDuty does.

The trigger path is the hot one (every alert of every delivery) and runs hand-built
SQL (``paging/ingest_sql.py``): a new alert costs BEGIN, one look-up of the alert,
INSERT … ON CONFLICT DO NOTHING for the incident (whose maintenance flag is a sub-select
of that INSERT) and for the alert, one INSERT of the timeline lines, COMMIT — 6 round
trips instead of 13 through the ORM with savepoints, plus one per delivery that confirms
the (cached) integration still has its token. Incidents opened or locked earlier
in the same delivery are remembered, so the other alerts of a group cost no incident
query. Ack and resolve are rare and stay on the ORM and the service functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from paging.alert_event import AlertEvent
from paging.ingest_sql import db_value, quoted, row_insert, rows_insert
from paging.kick import kick_engine
from paging.models import (
    Alert,
    Incident,
    IncidentEvent,
    Integration,
    MaintenanceWindow,
    Service,
)
from paging.services import incident_acknowledge, incident_resolve
from paging.timeline import event_build, event_record

SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2, "critical": 3}
KEY_MAX = 255
TITLE_MAX = 1024
VIA = "integration"


class IntegrationGone(Exception):
    """The delivery's integration was deleted, or its token changed, before it committed."""


@dataclass
class IngestResult:
    # Incidents touched by the delivery, in first-touched order, without repeats.
    incident_ids: list[int] = field(default_factory=list)
    # One per event, in order: the dedup key used (the PagerDuty 202 answer).
    dedup_keys: list[str] = field(default_factory=list)
    # One per event: created | joined | updated | acknowledged | resolved | dropped.
    outcomes: list[str] = field(default_factory=list)
    created: int = 0
    # Index of the event being handled (events are handled in alert-key order).
    _at: int = 0

    def _add(self, *, dedup_key: str, outcome: str, incident_id: int | None) -> None:
        self.dedup_keys[self._at] = dedup_key
        self.outcomes[self._at] = outcome
        if incident_id is not None and incident_id not in self.incident_ids:
            self.incident_ids.append(incident_id)


def _dedup_key(integration: Integration, event: AlertEvent) -> str:
    key = event.group_key if integration.grouping == Integration.Grouping.GROUP else ""
    return (key or event.alert_key)[:KEY_MAX]


@dataclass
class _FiringAlert:
    id: int
    incident_id: int
    alert_key: str
    title: str
    incident_open: bool


@dataclass
class _OpenIncident:
    """An open incident locked (or created) by this transaction."""

    id: int
    severity: str
    urgency: str


@dataclass
class _Delivery:
    """What one ``alerts_ingest`` transaction keeps while it handles its events."""

    integration: Integration
    service: Service
    now: datetime
    # Timeline lines written in one INSERT (flushed before ack/resolve, which write theirs).
    timeline: list[IncidentEvent] = field(default_factory=list)
    # dedup key -> its open incident, found or opened earlier in this transaction.
    opened: dict[str, _OpenIncident] = field(default_factory=dict)

    def timeline_flush(self) -> None:
        rows_insert(self.timeline)
        self.timeline = []


_sql_cache: dict[tuple[str, str], str] = {}


def _sql(name: str) -> str:
    """The statement ``name`` for this database, built once per process."""
    key = (connection.vendor, name)
    sql = _sql_cache.get(key)
    if sql is None:
        sql = _SQL_BUILDERS[name]()
        _sql_cache[key] = sql
    return sql


def _lock(alias: str = "") -> str:
    # Row locks on PostgreSQL; SQLite has none (its writers are serialized).
    if not connection.features.has_select_for_update:
        return ""
    if alias and connection.features.has_select_for_update_of:
        return f" FOR UPDATE OF {alias}"
    return " FOR UPDATE"


# Identifiers in these statements come from model metadata, values are parameters.
def _firing_alert_sql() -> str:
    alert, incident = quoted(Alert._meta.db_table), quoted(Incident._meta.db_table)
    select = "SELECT a.id, a.incident_id, a.alert_key, a.title, i.status"
    join = f"FROM {alert} a INNER JOIN {incident} i ON i.id = a.incident_id"
    where = "WHERE a.service_id = %s AND a.alert_key = %s AND a.status = %s"
    return f"{select} {join} {where}{_lock('a')}"


def _open_incident_sql() -> str:
    table = quoted(Incident._meta.db_table)
    where = "WHERE service_id = %s AND dedup_key = %s AND status IN (%s, %s)"
    return f"SELECT id, severity, urgency FROM {table} {where}{_lock()}"  # noqa: S608


def _in_maintenance_sql() -> str:
    table = quoted(MaintenanceWindow._meta.db_table)
    where = "WHERE service_id = %s AND starts_at <= %s AND ends_at > %s"
    return f"EXISTS (SELECT 1 FROM {table} {where})"  # noqa: S608


def _maintenance_end_sql() -> str:
    # Where the window the service is in now ends (NULL: not in one).
    table = quoted(MaintenanceWindow._meta.db_table)
    where = "WHERE service_id = %s AND starts_at <= %s AND ends_at > %s"
    return f"(SELECT MAX(ends_at) FROM {table} {where})"  # noqa: S608


def _integration_sql() -> str:
    # FOR KEY SHARE (PostgreSQL), the lock the alert's foreign key takes anyway: deliveries
    # do not block each other, and a concurrent delete waits for this transaction.
    table = quoted(Integration._meta.db_table)
    lock = " FOR KEY SHARE" if connection.vendor == "postgresql" else ""
    return f"SELECT 1 FROM {table} WHERE id = %s AND token = %s{lock}"  # noqa: S608


def _integration_confirm(integration: Integration) -> None:
    """Raise IntegrationGone unless the integration still exists with the token it had.

    The web processes cache integrations by token for a few seconds
    (``paging/inbound/integrations.py``): this statement makes a deleted or rotated token
    a 404 from every process at once, instead of an IntegrityError at commit.
    """
    with connection.cursor() as cursor:
        cursor.execute(_sql("integration"), [integration.pk, integration.token])
        if cursor.fetchone() is None:
            raise IntegrationGone(integration.pk)


def _alert_refresh_sql() -> str:
    table = quoted(Alert._meta.db_table)
    assign = "last_seen_at = %s, deliveries = deliveries + 1"
    return f"UPDATE {table} SET {assign} WHERE id = %s"  # noqa: S608


def _alert_refresh_details_sql() -> str:
    table = quoted(Alert._meta.db_table)
    assign = "last_seen_at = %s, deliveries = deliveries + 1, details = %s"
    return f"UPDATE {table} SET {assign} WHERE id = %s"  # noqa: S608


def _alert_refresh_by_key_sql() -> str:
    # The firing alert of a key, by the key: for a delivery that lost the race to create
    # it (its INSERT conflicted with a concurrent one that has committed since).
    table = quoted(Alert._meta.db_table)
    assign = "last_seen_at = %s, deliveries = deliveries + 1"
    where = "WHERE service_id = %s AND alert_key = %s AND status = %s"
    return f"UPDATE {table} SET {assign} {where}"  # noqa: S608


_SQL_BUILDERS = {
    "integration": _integration_sql,
    "firing_alert": _firing_alert_sql,
    "open_incident": _open_incident_sql,
    "in_maintenance": _in_maintenance_sql,
    "maintenance_end": _maintenance_end_sql,
    "alert_refresh": _alert_refresh_sql,
    "alert_refresh_details": _alert_refresh_details_sql,
    "alert_refresh_by_key": _alert_refresh_by_key_sql,
}


def _firing_alert(service_id: int, alert_key: str) -> _FiringAlert | None:
    """The firing alert of that key (row locked), with whether its incident is open."""
    with connection.cursor() as cursor:
        cursor.execute(_sql("firing_alert"), [service_id, alert_key, Alert.Status.FIRING])
        row = cursor.fetchone()
    if row is None:
        return None
    return _FiringAlert(
        id=row[0],
        incident_id=row[1],
        alert_key=row[2],
        title=row[3],
        incident_open=row[4] in Incident.OPEN_STATUSES,
    )


def _open_incident(service_id: int, dedup_key: str) -> _OpenIncident | None:
    with connection.cursor() as cursor:
        cursor.execute(_sql("open_incident"), [service_id, dedup_key, *Incident.OPEN_STATUSES])
        row = cursor.fetchone()
    return _OpenIncident(id=row[0], severity=row[1], urgency=row[2]) if row else None


def _incident_insert(
    delivery: _Delivery, dedup_key: str, event: AlertEvent
) -> tuple[_OpenIncident, bool] | None:
    """Open a new incident unless one is open for the key: (incident, in maintenance).

    Whether the service is in a maintenance window is decided by the INSERT itself (a
    sub-select), so the common case costs no query of its own. An incident opened in a
    window is due when the window ends: the engine then starts its escalation if it
    is still firing (``paging/escalation.py``).
    """
    service, now = delivery.service, delivery.now
    urgency = service.urgency_for(event.severity)
    incident = Incident(
        service=service,
        dedup_key=dedup_key,
        title=(event.title or dedup_key)[:TITLE_MAX],
        severity=event.severity,
        urgency=urgency,
        details=event.details,
        links=event.links,
        created_at=now,
        updated_at=now,
        escalation_policy_id=service.escalation_policy_id,
    )
    at = db_value(MaintenanceWindow._meta.get_field("starts_at"), now)
    window = _sql("in_maintenance")
    window_params = [service.pk, at, at]
    due = db_value(Incident._meta.get_field("next_due_at"), now)
    row = row_insert(
        incident,
        returning=("id", "in_maintenance"),
        expressions={
            "in_maintenance": (window, window_params),
            "next_due_at": (
                f"COALESCE({_sql('maintenance_end')}, %s)",
                [*window_params, due],
            ),
        },
    )
    if row is None:
        return None
    return _OpenIncident(id=row[0], severity=event.severity, urgency=urgency), bool(row[1])


def _incident_open_or_join(
    delivery: _Delivery, dedup_key: str, event: AlertEvent
) -> tuple[_OpenIncident, bool, bool]:
    """The open incident for the key, opened if needed: (incident, created, in maintenance)."""
    incident = delivery.opened.get(dedup_key)
    if incident is not None:
        return incident, False, False
    for _ in range(3):
        # Insert first: ON CONFLICT makes a concurrent or earlier open incident of the
        # key a no-op (PostgreSQL waits for a racing insert to commit or roll back).
        inserted = _incident_insert(delivery, dedup_key, event)
        if inserted is not None:
            delivery.opened[dedup_key] = inserted[0]
            return inserted[0], True, inserted[1]
        incident = _open_incident(delivery.service.pk, dedup_key)
        if incident is not None:
            delivery.opened[dedup_key] = incident
            return incident, False, False
        # It was resolved between our insert and our look: try again.
    raise RuntimeError(f"could not open or join incident {dedup_key!r}")


def _severity_raise(
    incident: _OpenIncident, severity: str, now: datetime, service: Service
) -> None:
    if SEVERITY_RANK.get(severity, 3) > SEVERITY_RANK.get(incident.severity, 3):
        incident.severity = severity
        incident.urgency = (
            "high" if "high" in (incident.urgency, service.urgency_for(severity)) else "low"
        )
        Incident.objects.filter(pk=incident.id).update(
            severity=incident.severity, urgency=incident.urgency, updated_at=now
        )


def _trigger(*, delivery: _Delivery, event: AlertEvent, result: IngestResult) -> bool:
    """Handle one trigger; True when it created an incident the engine must page."""
    integration, service, now = delivery.integration, delivery.service, delivery.now
    dedup_key = _dedup_key(integration, event)
    alert_key = event.alert_key[:KEY_MAX]
    alert = _firing_alert(service.pk, alert_key)
    if alert is not None and alert.incident_open:
        # A repeated delivery: refresh the record only.
        with connection.cursor() as cursor:
            if event.details:
                details = db_value(Alert._meta.get_field("details"), event.details)
                cursor.execute(_sql("alert_refresh_details"), [now, details, alert.id])
            else:
                cursor.execute(_sql("alert_refresh"), [now, alert.id])
        result._add(dedup_key=dedup_key, outcome="updated", incident_id=alert.incident_id)
        return False
    if alert is not None:
        # Its incident was resolved by hand: that episode is over.
        Alert.objects.filter(pk=alert.id).update(status=Alert.Status.RESOLVED, resolved_at=now)

    incident, created, maintenance = _incident_open_or_join(delivery, dedup_key, event)
    inserted = row_insert(
        Alert(
            incident_id=incident.id,
            service=service,
            integration=integration,
            alert_key=alert_key,
            title=event.title[:TITLE_MAX],
            severity=event.severity,
            source=event.source[:255],
            details=event.details,
            links=event.links,
            raw=event.raw,
            first_seen_at=event.occurred_at or now,
            last_seen_at=now,
        )
    )
    if inserted is None:
        # The same alert delivered concurrently: the other delivery recorded it (and has
        # committed: ON CONFLICT waited for it). Count this delivery on that row, with
        # the same atomic increment as a repeat, or the counter misses every race loser.
        with connection.cursor() as cursor:
            cursor.execute(
                _sql("alert_refresh_by_key"), [now, service.pk, alert_key, Alert.Status.FIRING]
            )
        result._add(dedup_key=dedup_key, outcome="updated", incident_id=incident.id)
        return False
    timeline = delivery.timeline
    if created:
        result.created += 1
        timeline.append(
            event_build(
                incident_id=incident.id,
                kind=IncidentEvent.Kind.TRIGGERED,
                at=now,
                via=integration.kind,
                text=f"{incident.urgency} urgency, {incident.severity}",
            )
        )
        if maintenance:
            timeline.append(
                event_build(
                    incident_id=incident.id,
                    kind=IncidentEvent.Kind.MAINTENANCE,
                    at=now,
                    text="service in a maintenance window: nobody paged",
                )
            )
    else:
        _severity_raise(incident, event.severity, now, service)
    timeline.append(
        event_build(
            incident_id=incident.id,
            kind=IncidentEvent.Kind.ALERT_RECEIVED,
            at=now,
            via=integration.kind,
            text=event.title[:500],
            data={"alert_key": alert_key, "source": event.source[:255]},
        )
    )
    result._add(
        dedup_key=dedup_key, outcome="created" if created else "joined", incident_id=incident.id
    )
    return created and not maintenance


def _acknowledge(*, integration: Integration, event: AlertEvent, result: IngestResult) -> None:
    dedup_key = _dedup_key(integration, event)
    incident = (
        Incident.objects.filter(
            service_id=integration.service_id,
            dedup_key=dedup_key,
            status__in=Incident.OPEN_STATUSES,
        )
        .only("pk")
        .first()
    )
    if incident is None:
        result._add(dedup_key=dedup_key, outcome="dropped", incident_id=None)
        return
    incident_acknowledge(incident_id=incident.pk, via=VIA)
    result._add(dedup_key=dedup_key, outcome="acknowledged", incident_id=incident.pk)


def _resolve(
    *, integration: Integration, event: AlertEvent, now: datetime, result: IngestResult
) -> None:
    dedup_key = _dedup_key(integration, event)
    alert = _firing_alert(integration.service_id, event.alert_key[:KEY_MAX])
    if alert is None:
        result._add(dedup_key=dedup_key, outcome="dropped", incident_id=None)
        return
    Alert.objects.filter(pk=alert.id).update(
        status=Alert.Status.RESOLVED, resolved_at=now, last_seen_at=now
    )
    event_record(
        incident_id=alert.incident_id,
        kind=IncidentEvent.Kind.ALERT_RESOLVED,
        at=now,
        via=integration.kind,
        text=(event.title or alert.title)[:500],
        data={"alert_key": alert.alert_key},
    )
    still_firing = Alert.objects.filter(
        incident_id=alert.incident_id, status=Alert.Status.FIRING
    ).exists()
    if not still_firing:
        incident_resolve(incident_id=alert.incident_id, via=VIA)
    result._add(dedup_key=dedup_key, outcome="resolved", incident_id=alert.incident_id)


def alerts_ingest(*, integration: Integration, events: list[AlertEvent]) -> IngestResult:
    """Apply one delivery's events in one transaction; kick the engine after commit.

    Raises IntegrationGone (and writes nothing) when ``integration`` was deleted or its
    token changed since it was loaded.
    """
    result = IngestResult(dedup_keys=[""] * len(events), outcomes=[""] * len(events))
    # Row locks (alert, incident) are taken in alert-key order, so two deliveries of the
    # same alerts listed in different orders cannot deadlock each other.
    order = sorted(range(len(events)), key=lambda i: events[i].alert_key)
    with transaction.atomic():
        _integration_confirm(integration)
        now = timezone.now()
        delivery = _Delivery(integration=integration, service=integration.service, now=now)
        due = False
        for index in order:
            event = events[index]
            result._at = index
            if event.action == "trigger":
                due |= _trigger(delivery=delivery, event=event, result=result)
                continue
            # Ack and resolve write their own timeline lines and may close incidents
            # opened above: earlier lines first, and look incidents up again after.
            delivery.timeline_flush()
            delivery.opened.clear()
            if event.action == "acknowledge":
                _acknowledge(integration=integration, event=event, result=result)
            elif event.action == "resolve":
                _resolve(integration=integration, event=event, now=now, result=result)
            else:
                raise ValueError(f"unknown action {event.action!r}")
        delivery.timeline_flush()
        if due:
            kick_engine()
    return result
