"""Alerts in: turn parsed AlertEvents into incidents, in one transaction per delivery.

- trigger: opens or joins the open incident of (service, dedup key); the dedup key is
  the event's ``group_key`` when the integration groups by group, else its
  ``alert_key``. The alert row (identity: ``alert_key``) is created or refreshed, so
  repeated deliveries change nothing but counters.
- acknowledge: acknowledges the open incident of that dedup key (via "integration").
- resolve: resolves that alert, and the incident once none of its alerts fire.
- ack/resolve for keys we do not know are dropped, as PagerDuty does.

The trigger path is the hot one (every alert of every delivery) and runs hand-built
SQL (``paging/ingest_sql.py``), batched: the consecutive triggers of a delivery (all of
them, unless an ack or resolve sits between) cost one look-up of their alerts (rows
locked in key order), one multi-row INSERT … ON CONFLICT DO NOTHING of the incidents
they open (each row's maintenance flag a sub-select of that INSERT), one of the alerts,
one UPDATE of the repeats and one INSERT of the timeline lines, plus the statement that
confirms the (cached) integration still has its token: a message of 50 new alerts costs
the 7 statements of one alert (BEGIN and COMMIT included). Joining an incident that was
already open costs its look-up (the INSERT conflicted); raising severities one UPDATE
per new (severity, urgency). Incidents opened or locked earlier in the same delivery are
remembered. Ack and resolve are rare and stay on the ORM and the service functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from paging.alert_event import AlertEvent
from paging.alert_rules import RuleOutcome
from paging.incident_actions import incident_acknowledge, incident_resolve
from paging.ingest_rules import (
    inhibitions_record,
    rules_apply,
    rules_text,
    suppressions_decide,
    suppressions_end,
)
from paging.ingest_sql import (
    Expressions,
    concrete_field,
    db_value,
    quoted,
    quoted_column,
    rows_insert,
    rows_insert_returning,
    sql_once,
)
from paging.inhibition import DeliverySources, inhibition_sources_end
from paging.kick import kick_engine
from paging.models import (
    Alert,
    Incident,
    IncidentEvent,
    Integration,
    MaintenanceWindow,
    Service,
)
from paging.priority_policy import policy_for, priority_policies
from paging.rules_cache import IntegrationRules, integration_rules
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
    service_id: int = 0


@dataclass
class _OpenIncident:
    """An open incident locked (or created) by this transaction."""

    id: int
    severity: str
    urgency: str
    priority: int | None = None
    suppressed_by: str = ""


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
    # Keys of ``opened`` this transaction opened inside a maintenance window.
    in_maintenance: set[str] = field(default_factory=set)
    # Alert rules and inhibitions (None: the integration has none, the plain path).
    rules: IntegrationRules | None = None
    # Event index -> what the matching rules decided (shared with the siblings).
    outcomes: dict[int, RuleOutcome] = field(default_factory=dict)
    # Services an alert of this delivery can be on: the integration's, then routed ones.
    service_ids: tuple[int, ...] = ()
    # The delivery's part for each service rules route to (service id -> it), shared.
    siblings: dict[int, _Delivery] = field(default_factory=dict)
    events: list[AlertEvent] = field(default_factory=list)
    # Filled once, shared with the siblings (a list, so ``replace`` shares it).
    _sources: list[DeliverySources] = field(default_factory=list)

    def line(self, incident_id: int, kind: str, text: str, **extra: Any) -> None:
        """A timeline line at the delivery's time, written by the next flush."""
        self.timeline.append(
            event_build(incident_id=incident_id, kind=kind, at=self.now, text=text, **extra)
        )

    def timeline_flush(self) -> None:
        rows_insert(self.timeline)
        self.timeline.clear()  # the list is shared with the siblings

    def for_service(self, service_id: int) -> _Delivery:
        """This delivery's part on another service (rules routed alerts there)."""
        if service_id == self.service.pk:
            return self
        sibling = self.siblings.get(service_id)
        if sibling is None:
            assert self.rules is not None
            sibling = replace(
                self,
                service=self.rules.services[service_id],
                opened={},
                in_maintenance=set(),
            )
            self.siblings[service_id] = sibling
        return sibling

    def forget(self) -> None:
        """Ack and resolve may close incidents opened above: look them up again after."""
        for delivery in (self, *self.siblings.values()):
            delivery.opened.clear()
            delivery.in_maintenance.clear()

    def dedup_key(self, index: int, event: AlertEvent) -> str:
        outcome = self.outcomes.get(index)
        if outcome is not None and outcome.dedup_key:
            return outcome.dedup_key
        return _dedup_key(self.integration, event)

    def sources(self) -> DeliverySources:
        """Inhibition sources among this delivery's own alerts (computed once)."""
        if not self._sources:
            assert self.rules is not None
            self._sources.append(DeliverySources.of(self.rules.inhibitions, self.events, self.now))
        return self._sources[0]


def _sql(name: str) -> str:
    """The statement ``name`` for this database, built once per process."""
    return sql_once(_SQL_BUILDERS[name])


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


def _in_list(count: int) -> str:
    return f"({', '.join(['%s'] * count)})"


def _firing_alerts_sql(count: int, services: int = 1) -> str:
    # Locked in key order (PostgreSQL locks the rows as the sort emits them), the order
    # every delivery takes its locks in. Several services: those alert rules route to.
    alert, incident = quoted(Alert._meta.db_table), quoted(Incident._meta.db_table)
    select = "SELECT a.id, a.incident_id, a.alert_key, a.title, i.status, a.service_id"
    join = f"FROM {alert} a INNER JOIN {incident} i ON i.id = a.incident_id"
    service = "a.service_id = %s" if services == 1 else f"a.service_id IN {_in_list(services)}"
    where = f"WHERE {service} AND a.status = %s AND a.alert_key IN {_in_list(count)}"
    order = "a.alert_key" if services == 1 else "a.alert_key, a.service_id"
    return f"{select} {join} {where} ORDER BY {order}{_lock('a')}"


def _open_incidents_sql(count: int) -> str:
    table = quoted(Incident._meta.db_table)
    where = f"WHERE service_id = %s AND status IN (%s, %s) AND dedup_key IN {_in_list(count)}"
    columns = "id, dedup_key, severity, urgency, priority, suppressed_by"
    return f"SELECT {columns} FROM {table} {where} ORDER BY dedup_key{_lock()}"  # noqa: S608


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
    column = quoted_column(concrete_field(Integration, "rules_version"))
    return f"SELECT {column} FROM {table} WHERE id = %s AND token = %s{lock}"  # noqa: S608


def _integration_confirm(integration: Integration) -> int:
    """Raise IntegrationGone unless the integration still exists with the token it had;
    return its ``rules_version`` (which compiled rules to run, ``paging/rules_cache.py``).

    The web processes cache integrations by token for a few seconds
    (``paging/inbound/integrations.py``): this statement makes a deleted or rotated token
    a 404 from every process at once, instead of an IntegrityError at commit. Inbound
    requests with a rate limit skip it: the slot's statement confirmed the token.
    """
    with connection.cursor() as cursor:
        cursor.execute(_sql("integration"), [integration.pk, integration.token])
        row = cursor.fetchone()
    if row is None:
        raise IntegrationGone(integration.pk)
    return int(row[0])


def _alerts_refresh_sql(count: int, details: int) -> str:
    """Repeated alerts: counters of ``count`` ids, new details for the first ``details``."""
    table = quoted(Alert._meta.db_table)
    assign = "last_seen_at = %s, deliveries = deliveries + 1"
    if details:
        cases = " ".join(["WHEN %s THEN %s"] * details)
        assign += f", details = CASE id {cases} ELSE details END"
    return f"UPDATE {table} SET {assign} WHERE id IN {_in_list(count)}"  # noqa: S608


def _alerts_refresh_by_key_sql(count: int) -> str:
    # The firing alerts of keys, by the keys: for a delivery that lost the race to create
    # them (its INSERT conflicted with a concurrent one that has committed since).
    table = quoted(Alert._meta.db_table)
    assign = "last_seen_at = %s, deliveries = deliveries + 1"
    where = f"WHERE service_id = %s AND status = %s AND alert_key IN {_in_list(count)}"
    return f"UPDATE {table} SET {assign} {where}"  # noqa: S608


_SQL_BUILDERS = {
    "integration": _integration_sql,
    "firing_alert": _firing_alert_sql,
    "in_maintenance": _in_maintenance_sql,
    "maintenance_end": _maintenance_end_sql,
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


# Keys per IN list: far below the databases' limits of bound parameters.
KEYS_PER_STATEMENT = 500


def _chunks(items: list[Any], size: int = KEYS_PER_STATEMENT) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _firing_alerts(service_ids: tuple[int, ...], alert_keys: list[str]) -> dict[str, _FiringAlert]:
    """The firing alerts of these keys on these services (rows locked), with whether
    their incident is open (a key firing on several services: the first service's)."""
    found: dict[str, _FiringAlert] = {}
    rank = {service_id: n for n, service_id in enumerate(service_ids)}
    with connection.cursor() as cursor:
        for keys in _chunks(alert_keys):
            cursor.execute(
                _firing_alerts_sql(len(keys), len(service_ids)),
                [*service_ids, Alert.Status.FIRING, *keys],
            )
            for row in cursor.fetchall():
                known = found.get(row[2])
                if known is not None and rank[known.service_id] <= rank[row[5]]:
                    continue
                found[row[2]] = _FiringAlert(
                    id=row[0],
                    incident_id=row[1],
                    alert_key=row[2],
                    title=row[3],
                    incident_open=row[4] in Incident.OPEN_STATUSES,
                    service_id=row[5],
                )
    return found


def _open_incidents(service_id: int, dedup_keys: list[str]) -> dict[str, _OpenIncident]:
    found: dict[str, _OpenIncident] = {}
    with connection.cursor() as cursor:
        for keys in _chunks(dedup_keys):
            cursor.execute(
                _open_incidents_sql(len(keys)), [service_id, *Incident.OPEN_STATUSES, *keys]
            )
            for row in cursor.fetchall():
                found[row[1]] = _OpenIncident(
                    id=row[0],
                    severity=row[2],
                    urgency=row[3],
                    priority=row[4],
                    suppressed_by=row[5],
                )
    return found


def _urgency(delivery: _Delivery, index: int, severity: str) -> str:
    """The urgency an alert asks for: its rules' urgency, else the service's for its severity."""
    outcome = delivery.outcomes.get(index)
    if outcome is not None and outcome.urgency:
        return outcome.urgency
    return delivery.service.urgency_for(severity)


def _priority(delivery: _Delivery, index: int, event: AlertEvent) -> int | None:
    """The priority an alert opens its incident with: its rules', else its own (the
    Events API's); joining alerts leave an incident's priority as it is."""
    outcome = delivery.outcomes.get(index)
    if outcome is not None and outcome.priority is not None:
        return outcome.priority
    return event.priority


def _incidents_insert(
    delivery: _Delivery, firsts: dict[str, tuple[int, AlertEvent]], held: dict[str, str]
) -> dict[str, tuple[_OpenIncident, bool]]:
    """Open a new incident per dedup key unless one is open: key -> (incident, in
    maintenance) for those opened, in one multi-row INSERT.

    Whether the service is in a maintenance window is decided by the INSERT itself (a
    sub-select per row), so it costs no query of its own. An incident opened in a
    window is due when the window ends: the engine then starts its escalation if it
    is still firing (``paging/escalation.py``). One whose alerts are all suppressed
    (``held``: key -> why) is recorded with ``suppressed_by`` and is never due: nobody
    is paged unless an unsuppressed alert joins it or its inhibition ends.
    """
    service, now = delivery.service, delivery.now
    at = db_value(concrete_field(MaintenanceWindow, "starts_at"), now)
    window = _sql("in_maintenance")
    window_params = [service.pk, at, at]
    due = db_value(concrete_field(Incident, "next_due_at"), now)
    expressions: Expressions = {
        "in_maintenance": (window, window_params),
        "next_due_at": (f"COALESCE({_sql('maintenance_end')}, %s)", [*window_params, due]),
    }
    not_due: Expressions = {"in_maintenance": (window, window_params)}
    keys = sorted(firsts)  # every delivery writes (and locks) keys in the same order
    priorities = {key: _priority(delivery, *firsts[key]) for key in keys}
    # No query unless an alert carries a priority: the service's policies per priority
    # come with the compiled rules when a rule sets one (``paging/rules_cache.py``).
    cached = delivery.rules.priority_policies.get(service.pk) if delivery.rules else None
    if cached is not None:
        by_priority = cached
    else:
        by_priority = priority_policies(service_id=service.pk, priorities=priorities.values())
    incidents = []
    for key in keys:
        index, event = firsts[key]
        incidents.append(
            Incident(
                service=service,
                dedup_key=key,
                title=(event.title or key)[:TITLE_MAX],
                severity=event.severity,
                urgency=_urgency(delivery, index, event.severity),
                priority=priorities[key],
                suppressed_by=held.get(key, ""),
                details=event.details,
                links=event.links,
                created_at=now,
                updated_at=now,
                escalation_policy_id=policy_for(
                    service=service, priority=priorities[key], by_priority=by_priority
                ),
            )
        )
    rows = rows_insert_returning(
        incidents,
        returning=("id", "dedup_key", "in_maintenance"),
        expressions=[not_due if i.suppressed_by else expressions for i in incidents],
    )
    by_key = {incident.dedup_key: incident for incident in incidents}
    return {
        key: (
            _OpenIncident(
                id=pk,
                severity=by_key[key].severity,
                urgency=by_key[key].urgency,
                priority=by_key[key].priority,
                suppressed_by=by_key[key].suppressed_by,
            ),
            bool(m),
        )
        for pk, key, m in rows
    }


def _incidents_open_or_join(
    delivery: _Delivery, firsts: dict[str, tuple[int, AlertEvent]], held: dict[str, str]
) -> set[str]:
    """Make ``delivery.opened`` hold an open incident for every key of ``firsts`` (the
    first new alert of each key, with its index, in key order); returns the keys opened
    here, and notes the ones opened in a maintenance window in ``delivery.in_maintenance``."""
    created: set[str] = set()
    missing = {key: first for key, first in firsts.items() if key not in delivery.opened}
    for _ in range(3):
        if not missing:
            return created
        # Insert first: ON CONFLICT makes a concurrent or earlier open incident of the
        # key a no-op (PostgreSQL waits for a racing insert to commit or roll back).
        for key, (incident, maintenance) in _incidents_insert(delivery, missing, held).items():
            delivery.opened[key] = incident
            created.add(key)
            if maintenance:
                delivery.in_maintenance.add(key)
        rest = [key for key in missing if key not in delivery.opened]
        if rest:
            delivery.opened.update(_open_incidents(delivery.service.pk, sorted(rest)))
        # Still none: resolved between our insert and our look; try again.
        missing = {key: first for key, first in missing.items() if key not in delivery.opened}
    if missing:
        raise RuntimeError(f"could not open or join incidents {sorted(missing)!r}")
    return created


def _severity_raise(
    incident: _OpenIncident, severity: str, urgency: str, outcome: RuleOutcome | None
) -> bool:
    """Raise the incident's severity (and urgency) in memory to what a joining alert asks
    for (``urgency``: the alert's own, its rules' if they set one); True if it changed.
    The priority stays: it chose the incident's policy when the incident opened."""
    changed = False
    if SEVERITY_RANK.get(severity, 3) > SEVERITY_RANK.get(incident.severity, 3):
        incident.severity = severity
        changed = True
    elif not (outcome is not None and outcome.urgency):
        urgency = incident.urgency  # urgency follows a raised severity or a rule only
    if urgency == "high" and incident.urgency != "high":
        incident.urgency = "high"
        changed = True
    return changed


def _severities_save(incidents: list[_OpenIncident], now: datetime) -> None:
    """One UPDATE per distinct (severity, urgency) of the incidents raised."""
    groups: dict[tuple[str, str], list[int]] = {}
    for incident in incidents:
        groups.setdefault((incident.severity, incident.urgency), []).append(incident.id)
    for (severity, urgency), ids in groups.items():
        Incident.objects.filter(pk__in=ids).update(
            severity=severity, urgency=urgency, updated_at=now
        )


def _alerts_refresh(repeats: list[tuple[int, dict[str, Any]]], now: datetime) -> None:
    """Count a repeated delivery on its alerts (and store new details): one UPDATE."""
    field_ = Alert._meta.get_field("details")
    for chunk in _chunks(repeats):
        # Alerts with new details first: the CASE covers those, the IN list all.
        chunk.sort(key=lambda repeat: not repeat[1])
        details = [(pk, db_value(field_, d)) for pk, d in chunk if d]
        params: list[Any] = [now]
        for pair in details:
            params.extend(pair)
        params.extend(pk for pk, _ in chunk)
        with connection.cursor() as cursor:
            cursor.execute(_alerts_refresh_sql(len(chunk), len(details)), params)


def _alerts_refresh_by_key(service_id: int, alert_keys: list[str], now: datetime) -> None:
    with connection.cursor() as cursor:
        for keys in _chunks(alert_keys):
            cursor.execute(
                _alerts_refresh_by_key_sql(len(keys)),
                [now, service_id, Alert.Status.FIRING, *keys],
            )


def _triggers(
    *, delivery: _Delivery, run: list[tuple[int, AlertEvent]], result: IngestResult
) -> bool:
    """Handle a run of triggers (distinct alert keys, in key order) in a bounded number
    of statements, whatever their number: look the alerts up, count the repeats, open
    the incidents, insert the new alerts, each in one statement (per service, when alert
    rules route alerts to several). True when an incident was opened that the engine
    must page."""
    now = delivery.now
    keys = [event.alert_key[:KEY_MAX] for _, event in run]
    firing = _firing_alerts(delivery.service_ids, keys)
    repeats: list[tuple[int, dict[str, Any]]] = []
    over: list[int] = []  # alerts whose incident was resolved by hand: that episode is over
    # service id -> [(index, event, dedup key)] of the alerts not firing yet.
    new: dict[int, list[tuple[int, AlertEvent, str]]] = {}
    # index -> (dedup key, outcome, incident), recorded in key order at the end.
    outcomes: dict[int, tuple[str, str, int]] = {}
    for (index, event), alert_key in zip(run, keys, strict=True):
        alert = firing.get(alert_key)
        if alert is not None and alert.incident_open:
            # A repeated delivery: refresh the record only.
            repeats.append((alert.id, event.details))
            outcomes[index] = (delivery.dedup_key(index, event), "updated", alert.incident_id)
            continue
        if alert is not None:
            over.append(alert.id)
        routed = delivery.outcomes.get(index)
        service_id = routed.service_id if routed is not None else None
        new.setdefault(service_id or delivery.service.pk, []).append(
            (index, event, delivery.dedup_key(index, event))
        )
    if repeats:
        _alerts_refresh(repeats, now)
    if over:
        Alert.objects.filter(pk__in=over).update(status=Alert.Status.RESOLVED, resolved_at=now)
    due = False
    for service_id in sorted(new):  # services in one order: their rows lock in one order
        part = delivery.for_service(service_id)
        due |= _new_alerts(part, new[service_id], outcomes, result)
    for index, _ in run:
        result._at = index
        dedup_key, outcome, incident_id = outcomes[index]
        result._add(dedup_key=dedup_key, outcome=outcome, incident_id=incident_id)
    return due


def _new_alerts(
    delivery: _Delivery,
    new: list[tuple[int, AlertEvent, str]],
    outcomes: dict[int, tuple[str, str, int]],
    result: IngestResult,
) -> bool:
    """Open or join the incidents of the alerts not firing yet, insert the alerts."""
    integration, service, now = delivery.integration, delivery.service, delivery.now
    firsts: dict[str, tuple[int, AlertEvent]] = {}
    for index, event, dedup_key in new:
        firsts.setdefault(dedup_key, (index, event))
    held, paging, inhibitions = suppressions_decide(delivery, new)
    created = _incidents_open_or_join(delivery, firsts, held)
    # The "triggered" line says what the incident was opened with, before any raise.
    opened_as = {key: _opened_as(delivery.opened[key]) for key in created}
    raised: dict[int, _OpenIncident] = {}
    for index, event, dedup_key in new:
        incident = delivery.opened[dedup_key]
        if firsts[dedup_key][1] is event and dedup_key in created:
            continue  # it opened the incident with its own severity
        urgency = _urgency(delivery, index, event.severity)
        if _severity_raise(incident, event.severity, urgency, delivery.outcomes.get(index)):
            raised[incident.id] = incident
    _severities_save(list(raised.values()), now)
    due = suppressions_end(delivery, paging, created)

    alerts = [
        Alert(
            incident_id=delivery.opened[dedup_key].id,
            service=service,
            integration=integration,
            alert_key=event.alert_key[:KEY_MAX],
            title=event.title[:TITLE_MAX],
            severity=event.severity,
            source=event.source[:255],
            details=event.details,
            links=event.links,
            raw=event.raw,
            first_seen_at=event.occurred_at or now,
            last_seen_at=now,
        )
        for _, event, dedup_key in new
    ]
    inserted = dict(rows_insert_returning(alerts, returning=("alert_key", "id")))
    lost = [alert.alert_key for alert in alerts if alert.alert_key not in inserted]
    if lost:
        # The same alerts delivered concurrently: the other delivery recorded them (and
        # has committed: ON CONFLICT waited for it). Count this delivery on those rows,
        # with the same atomic increment as a repeat, or the counter misses every loser.
        _alerts_refresh_by_key(service.pk, lost, now)
    if delivery.rules is not None and delivery.rules.inhibitions:
        inhibitions_record(delivery, new, inserted, created, held, inhibitions)

    for index, event, dedup_key in new:
        incident = delivery.opened[dedup_key]
        opened = firsts[dedup_key][1] is event and dedup_key in created
        if opened:
            result.created += 1
            maintenance = dedup_key in delivery.in_maintenance
            due |= not (maintenance or dedup_key in held)
            triggered = IncidentEvent.Kind.TRIGGERED
            delivery.line(incident.id, triggered, opened_as[dedup_key], via=integration.kind)
            if dedup_key in held:
                delivery.line(
                    incident.id, IncidentEvent.Kind.SUPPRESSED, f"{held[dedup_key]}: nobody paged"
                )
            elif maintenance:
                delivery.line(
                    incident.id,
                    IncidentEvent.Kind.MAINTENANCE,
                    "service in a maintenance window: nobody paged",
                )
        alert_key = event.alert_key[:KEY_MAX]
        if alert_key not in inserted:
            outcomes[index] = (dedup_key, "updated", incident.id)
            continue
        data: dict[str, Any] = {"alert_key": alert_key, "source": event.source[:255]}
        text = event.title[:500]
        matched = rules_text(delivery, index)
        if matched:
            data["rules"] = delivery.outcomes[index].rules
            text = f"{text} ({matched})"
        delivery.line(
            incident.id, IncidentEvent.Kind.ALERT_RECEIVED, text, via=integration.kind, data=data
        )
        outcomes[index] = (dedup_key, "created" if opened else "joined", incident.id)
    return due


def _opened_as(incident: _OpenIncident) -> str:
    text = f"{incident.urgency} urgency, {incident.severity}"
    return f"{text}, P{incident.priority}" if incident.priority else text


def _acknowledge(
    *, delivery: _Delivery, index: int, event: AlertEvent, result: IngestResult
) -> None:
    dedup_key = delivery.dedup_key(index, event)
    outcome = delivery.outcomes.get(index)
    service_id = (outcome.service_id if outcome else None) or delivery.service.pk
    incident_id = (
        Incident.objects.filter(
            service_id=service_id,
            dedup_key=dedup_key,
            status__in=Incident.OPEN_STATUSES,
        )
        .values_list("pk", flat=True)
        .first()
    )
    if incident_id is None and delivery.rules is not None:
        # Rules may have given the incident another key or service: the alert knows it.
        alert = _firing_alerts(delivery.service_ids, [event.alert_key[:KEY_MAX]]).get(
            event.alert_key[:KEY_MAX]
        )
        if alert is not None and alert.incident_open:
            incident_id = alert.incident_id
    if incident_id is None:
        result._add(dedup_key=dedup_key, outcome="dropped", incident_id=None)
        return
    incident_acknowledge(incident_id=incident_id, via=VIA)
    result._add(dedup_key=dedup_key, outcome="acknowledged", incident_id=incident_id)


def _resolve(*, delivery: _Delivery, index: int, event: AlertEvent, result: IngestResult) -> None:
    integration, now = delivery.integration, delivery.now
    dedup_key = delivery.dedup_key(index, event)
    key = event.alert_key[:KEY_MAX]
    if delivery.rules is None:
        alert = _firing_alert(delivery.service.pk, key)
    else:  # wherever rules routed it
        alert = _firing_alerts(delivery.service_ids, [key]).get(key)
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
    if delivery.rules is not None and delivery.rules.inhibitions:
        # A source alert resolved: the targets it held page (after this commit).
        inhibition_sources_end(alert_ids=[alert.id], now=now)
    still_firing = Alert.objects.filter(
        incident_id=alert.incident_id, status=Alert.Status.FIRING
    ).exists()
    if not still_firing:
        incident_resolve(incident_id=alert.incident_id, via=VIA)
    result._add(dedup_key=dedup_key, outcome="resolved", incident_id=alert.incident_id)


def alerts_ingest(
    *, integration: Integration, events: list[AlertEvent], rules_version: int | None = None
) -> IngestResult:
    """Apply one delivery's events in one transaction; kick the engine after commit.

    The integration's alert rules and the inhibit rules (``paging/rules_cache.py``,
    compiled and cached: no query per alert) decide each alert's service, severity,
    urgency, priority, links, dedup key and whether anybody is paged.

    Raises IntegrationGone (and writes nothing) when ``integration`` was deleted or its
    token changed since it was loaded. ``rules_version``: the integration's, read with
    its token just before (by the inbound rate limit's statement,
    ``paging/inbound/rate_limit.py``), so the transaction does not confirm the token
    again: a delivery admitted before a rotation or delete commits is completed, as if
    it had arrived a moment earlier (the next request is refused). Only a new alert of
    an integration deleted in between cannot be stored (its foreign key fails the
    commit): that is IntegrationGone too.
    """
    try:
        return _alerts_ingest(integration, events, rules_version)
    except IntegrityError:
        if rules_version is None or _integration_exists(integration):
            raise
        raise IntegrationGone(integration.pk) from None


def _integration_exists(integration: Integration) -> bool:
    return Integration.objects.filter(pk=integration.pk, token=integration.token).exists()


def _alerts_ingest(
    integration: Integration, events: list[AlertEvent], rules_version: int | None
) -> IngestResult:
    result = IngestResult(dedup_keys=[""] * len(events), outcomes=[""] * len(events))
    # Row locks (alert, incident) are taken in alert-key order, so two deliveries of the
    # same alerts listed in different orders cannot deadlock each other.
    order = sorted(range(len(events)), key=lambda i: events[i].alert_key)
    with transaction.atomic():
        version = _integration_confirm(integration) if rules_version is None else rules_version
        now = timezone.now()
        service = integration.service
        delivery = _Delivery(
            integration=integration, service=service, now=now, service_ids=(service.pk,)
        )
        rules = integration_rules(integration, version)
        if rules is not None:
            events = rules_apply(delivery, rules, events)
        due = False
        run: list[tuple[int, AlertEvent]] = []  # triggers handled together
        run_keys: set[str] = set()
        for index in order:
            event = events[index]
            if event.action == "trigger":
                key = event.alert_key[:KEY_MAX]
                if key in run_keys:  # the same alert twice: the second is a repeat
                    due |= _triggers(delivery=delivery, run=run, result=result)
                    run, run_keys = [], set()
                run.append((index, event))
                run_keys.add(key)
                continue
            if run:
                due |= _triggers(delivery=delivery, run=run, result=result)
                run, run_keys = [], set()
            result._at = index
            # Ack and resolve write their own timeline lines and may close incidents
            # opened above: earlier lines first, and look incidents up again after.
            delivery.timeline_flush()
            delivery.forget()
            if event.action == "acknowledge":
                _acknowledge(delivery=delivery, index=index, event=event, result=result)
            elif event.action == "resolve":
                _resolve(delivery=delivery, index=index, event=event, result=result)
            else:
                raise ValueError(f"unknown action {event.action!r}")
        if run:
            due |= _triggers(delivery=delivery, run=run, result=result)
        delivery.timeline_flush()
        if due:
            kick_engine()
    return result
