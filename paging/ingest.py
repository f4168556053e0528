"""Alerts in: turn parsed AlertEvents into incidents, in one transaction per delivery.

- trigger: opens or joins the open incident of (service, dedup key); the dedup key is
  the event's ``group_key`` when the integration groups by group, else its
  ``alert_key``. The alert row (identity: ``alert_key``) is created or refreshed, so
  repeated deliveries change nothing but counters.
- acknowledge: acknowledges the open incident of that dedup key (via "integration").
- resolve: resolves that alert, and the incident once none of its alerts fire.
- ack/resolve for keys we do not know are dropped, as PagerDuty does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from paging.alert_event import AlertEvent
from paging.kick import kick_engine
from paging.models import Alert, Incident, IncidentEvent, Integration, Service
from paging.services import incident_acknowledge, incident_resolve
from paging.timeline import event_record

SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2, "critical": 3}
KEY_MAX = 255
TITLE_MAX = 1024
VIA = "integration"


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


def _open_incident(service: Service, dedup_key: str) -> Incident | None:
    return (
        Incident.objects.select_for_update(of=("self",))
        .filter(service=service, dedup_key=dedup_key, status__in=Incident.OPEN_STATUSES)
        .first()
    )


def _firing_alert(service: Service, alert_key: str) -> Alert | None:
    return (
        Alert.objects.select_for_update(of=("self",))
        .select_related("incident")
        .filter(service=service, alert_key=alert_key, status=Alert.Status.FIRING)
        .first()
    )


def _incident_open_or_join(
    *,
    service: Service,
    dedup_key: str,
    event: AlertEvent,
    now: datetime,
    maintenance: bool,
) -> tuple[Incident, bool]:
    """The open incident for the key, created if needed; True when created here."""
    for _ in range(3):
        incident = _open_incident(service, dedup_key)
        if incident is not None:
            return incident, False
        try:
            with transaction.atomic():  # a savepoint: a racing insert only undoes this
                incident = Incident.objects.create(
                    service=service,
                    dedup_key=dedup_key,
                    title=(event.title or dedup_key)[:TITLE_MAX],
                    severity=event.severity,
                    urgency=service.urgency_for(event.severity),
                    details=event.details,
                    links=event.links,
                    in_maintenance=maintenance,
                    created_at=now,
                    updated_at=now,
                    escalation_policy_id=service.escalation_policy_id,
                    next_due_at=None if maintenance else now,
                )
            return incident, True
        except IntegrityError:
            # Another delivery opened it between our look and our insert: join it.
            continue
    raise RuntimeError(f"could not open or join incident {dedup_key!r}")


def _severity_raise(incident: Incident, severity: str, now: datetime, service: Service) -> None:
    if SEVERITY_RANK.get(severity, 3) > SEVERITY_RANK.get(incident.severity, 3):
        incident.severity = severity
        incident.urgency = (
            "high" if "high" in (incident.urgency, service.urgency_for(severity)) else "low"
        )
        incident.updated_at = now
        incident.save(update_fields=["severity", "urgency", "updated_at"])


def _trigger(
    *,
    integration: Integration,
    event: AlertEvent,
    now: datetime,
    maintenance: bool,
    result: IngestResult,
) -> bool:
    """Handle one trigger; True when it created an incident the engine must page."""
    service = integration.service
    dedup_key = _dedup_key(integration, event)
    alert_key = event.alert_key[:KEY_MAX]
    alert = _firing_alert(service, alert_key)
    if alert is not None and alert.incident.is_open:
        # A repeated delivery: refresh the record only.
        Alert.objects.filter(pk=alert.pk).update(
            last_seen_at=now,
            deliveries=alert.deliveries + 1,
            details=event.details or alert.details,
        )
        result._add(dedup_key=dedup_key, outcome="updated", incident_id=alert.incident_id)
        return False
    if alert is not None:
        # Its incident was resolved by hand: that episode is over.
        Alert.objects.filter(pk=alert.pk).update(status=Alert.Status.RESOLVED, resolved_at=now)

    incident, created = _incident_open_or_join(
        service=service, dedup_key=dedup_key, event=event, now=now, maintenance=maintenance
    )
    try:
        with transaction.atomic():
            Alert.objects.create(
                incident=incident,
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
    except IntegrityError:
        # The same alert delivered concurrently: the other delivery recorded it.
        result._add(dedup_key=dedup_key, outcome="updated", incident_id=incident.pk)
        return False
    if created:
        result.created += 1
        event_record(
            incident_id=incident.pk,
            kind=IncidentEvent.Kind.TRIGGERED,
            at=now,
            via=integration.kind,
            text=f"{incident.urgency} urgency, {incident.severity}",
        )
        if maintenance:
            event_record(
                incident_id=incident.pk,
                kind=IncidentEvent.Kind.MAINTENANCE,
                at=now,
                text="service in a maintenance window: nobody paged",
            )
    else:
        _severity_raise(incident, event.severity, now, service)
    event_record(
        incident_id=incident.pk,
        kind=IncidentEvent.Kind.ALERT_RECEIVED,
        at=now,
        via=integration.kind,
        text=event.title[:500],
        data={"alert_key": alert_key, "source": event.source[:255]},
    )
    result._add(
        dedup_key=dedup_key, outcome="created" if created else "joined", incident_id=incident.pk
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
    service = integration.service
    dedup_key = _dedup_key(integration, event)
    alert = _firing_alert(service, event.alert_key[:KEY_MAX])
    if alert is None:
        result._add(dedup_key=dedup_key, outcome="dropped", incident_id=None)
        return
    Alert.objects.filter(pk=alert.pk).update(
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
    """Apply one delivery's events in one transaction; kick the engine after commit."""
    result = IngestResult(dedup_keys=[""] * len(events), outcomes=[""] * len(events))
    # Row locks (alert, incident) are taken in alert-key order, so two deliveries of the
    # same alerts listed in different orders cannot deadlock each other.
    order = sorted(range(len(events)), key=lambda i: events[i].alert_key)
    with transaction.atomic():
        now = timezone.now()
        maintenance = integration.service.in_maintenance(now)
        due = False
        for index in order:
            event = events[index]
            result._at = index
            if event.action == "trigger":
                due |= _trigger(
                    integration=integration,
                    event=event,
                    now=now,
                    maintenance=maintenance,
                    result=result,
                )
            elif event.action == "acknowledge":
                _acknowledge(integration=integration, event=event, result=result)
            elif event.action == "resolve":
                _resolve(integration=integration, event=event, now=now, result=result)
            else:
                raise ValueError(f"unknown action {event.action!r}")
        if due:
            kick_engine()
    return result
