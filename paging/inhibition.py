"""Inhibition: while a source alert fires, new target alerts with the same ``equal``
values are suppressed; when the last such source resolves, targets still firing page.

State, all written in the transaction that changes it:
- ``InhibitionSource``: one row per firing alert that matches an inhibit rule's
  source, under its key (rule id + digest of the equal values). Written by the ingest
  (new source alerts) and when a rule is saved (alerts already firing); deleted when
  the alert resolves (ingest, or its incident resolved by hand) or the rule changes.
- ``InhibitedIncident``: one row per (held incident, key that held it).

A held incident is triggered with ``suppressed_by = "inhibited by …"`` and no due
time: the engine never sees it. ``inhibition_release`` (called when sources end)
clears ``suppressed_by`` of the incidents none of whose keys has a source any more,
makes them due now and kicks the engine: they page in the tick right after the commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection

from paging.alert_event import AlertEvent
from paging.alert_rules import CompiledInhibition
from paging.kick import kick_engine
from paging.models import (
    Alert,
    Incident,
    IncidentEvent,
    InhibitedIncident,
    InhibitionSource,
)
from paging.timeline import event_build

REASON_PREFIX = "inhibited by "
TITLE_MAX = 120


@dataclass(frozen=True)
class Held:
    """Why a new alert is inhibited: the text, and every key that holds it."""

    reason: str
    keys: tuple[str, ...]


def _reason(title: str, rule: CompiledInhibition, event: AlertEvent) -> str:
    values = rule.values(event)
    where = f" on {values}" if values else ""
    return f"{REASON_PREFIX}{title[:TITLE_MAX]!r} (inhibit rule '{rule.name}'{where})"[:255]


@dataclass
class DeliverySources:
    """The source keys of a delivery's own firing alerts (a source and its targets often
    arrive in one Alertmanager message): key -> (source alert key, title)."""

    keys: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def of(
        cls, inhibitions: Iterable[CompiledInhibition], events: Iterable[AlertEvent], now: datetime
    ) -> DeliverySources:
        found = cls()
        rules = tuple(inhibitions)
        for event in events:
            if event.action != "trigger":
                continue
            for rule in rules:
                if rule.source(event, now):
                    found.keys.setdefault(rule.key(event), (event.alert_key, event.title))
        return found


def inhibited(
    *,
    inhibitions: tuple[CompiledInhibition, ...],
    events: list[tuple[int, AlertEvent]],
    delivery_sources: DeliverySources,
    now: datetime,
) -> dict[int, Held]:
    """Which of these new alerts (index, event) an inhibition holds: at most one query,
    only when some alert matches a target."""
    wanted: dict[int, list[tuple[CompiledInhibition, str]]] = {}
    for index, event in events:
        for rule in inhibitions:
            if rule.target(event, now):
                wanted.setdefault(index, []).append((rule, rule.key(event)))
    if not wanted:
        return {}
    from_db: dict[str, str] = {}
    missing = {key for pairs in wanted.values() for _, key in pairs} - set(delivery_sources.keys)
    if missing:
        for key, source_title in _sources_locked(sorted(missing)):
            from_db.setdefault(key, source_title)
    held: dict[int, Held] = {}
    by_index = dict(events)
    for index, pairs in wanted.items():
        event = by_index[index]
        keys: list[str] = []
        reason = ""
        for rule, key in pairs:
            source = delivery_sources.keys.get(key)
            if source is not None and source[0] == event.alert_key:
                source = None  # an alert never inhibits itself
            title = source[1] if source is not None else from_db.get(key)
            if title is None:
                continue
            keys.append(key)
            reason = reason or _reason(title, rule, event)
        if keys:
            held[index] = Held(reason=reason, keys=tuple(keys))
    return held


def _sources_locked(keys: list[str]) -> list[tuple[str, str]]:
    """(key, source alert title) of the firing sources of these keys, the source rows
    share-locked (PostgreSQL) until this transaction ends: a resolve deleting one of
    them waits, then sees the incidents this one held under it and releases them. (Read
    without the lock, a resolve committing in between would leave them held for good.)"""
    source, alert = InhibitionSource._meta.db_table, Alert._meta.db_table
    q = connection.ops.quote_name
    lock = f" FOR SHARE OF {q('s')}" if connection.vendor == "postgresql" else ""
    sql = (
        f"SELECT s.{q('key')}, a.{q('title')} FROM {q(source)} s"  # noqa: S608 - names from meta
        f" INNER JOIN {q(alert)} a ON a.{q('id')} = s.{q('alert_id')}"
        f" WHERE s.{q('key')} IN ({', '.join(['%s'] * len(keys))})"
        f" ORDER BY s.{q('alert_id')}{lock}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, keys)
        return [(row[0], row[1]) for row in cursor.fetchall()]


def sources_rows(
    *,
    inhibitions: tuple[CompiledInhibition, ...],
    alerts: Iterable[tuple[int, AlertEvent]],
    now: datetime,
) -> list[InhibitionSource]:
    """InhibitionSource rows for newly recorded alerts (alert id, event) that match a
    rule's source; the caller inserts them."""
    rows = []
    for alert_id, event in alerts:
        for rule in inhibitions:
            if rule.source(event, now):
                rows.append(
                    InhibitionSource(rule_id=rule.id, key=rule.key(event), alert_id=alert_id)
                )
    return rows


def held_rows(incident_keys: dict[int, tuple[str, ...]]) -> list[InhibitedIncident]:
    return [
        InhibitedIncident(incident_id=incident_id, key=key)
        for incident_id, keys in incident_keys.items()
        for key in keys
    ]


def inhibition_release(
    *, keys: set[str] | None = None, rule_id: int | None = None, now: datetime, why: str
) -> int:
    """Page the incidents held under ``keys`` (or any key of ``rule_id``) that no firing
    source holds any more: clear ``suppressed_by``, due now, a timeline line saying
    ``why``; kicks the engine. Returns how many were released."""
    held = InhibitedIncident.objects.all()
    if keys is not None:
        held = held.filter(key__in=sorted(keys))
    elif rule_id is not None:
        held = held.filter(key__startswith=f"{rule_id}:")
    else:
        return 0
    incident_ids = set(held.values_list("incident_id", flat=True))
    if not incident_ids:
        return 0
    # An incident stays held while any of its keys still has a firing source.
    rows = list(
        InhibitedIncident.objects.filter(incident_id__in=incident_ids).values_list(
            "incident_id", "key"
        )
    )
    live = set(
        InhibitionSource.objects.filter(key__in={key for _, key in rows}).values_list(
            "key", flat=True
        )
    )
    still = {incident_id for incident_id, key in rows if key in live}
    free = sorted(incident_ids - still)
    if not free:
        return 0
    InhibitedIncident.objects.filter(incident_id__in=free).delete()
    ids = list(
        Incident.objects.filter(
            pk__in=free,
            status=Incident.Status.TRIGGERED,
            suppressed_by__startswith=REASON_PREFIX,
        ).values_list("pk", flat=True)
    )
    if not ids:
        return 0
    Incident.objects.filter(pk__in=ids).update(suppressed_by="", next_due_at=now, updated_at=now)
    IncidentEvent.objects.bulk_create(
        [
            event_build(
                incident_id=incident_id,
                kind=IncidentEvent.Kind.SUPPRESSION_ENDED,
                at=now,
                text=f"{why}; still firing: paging starts",
            )
            for incident_id in ids
        ]
    )
    kick_engine()
    return len(ids)


def inhibition_sources_end(
    *, now: datetime, alert_ids: list[int] | None = None, incident_id: int | None = None
) -> int:
    """These alerts (or the alerts of this incident) stopped firing: drop their source
    rows and release what they held. One statement when none of them was a source."""
    sources = InhibitionSource.objects.all()
    if alert_ids is not None:
        sources = sources.filter(alert_id__in=alert_ids)
    elif incident_id is not None:
        sources = sources.filter(alert__incident_id=incident_id)
    else:
        return 0
    ended = list(sources.values_list("pk", "key", "alert__title"))
    if not ended:
        return 0
    InhibitionSource.objects.filter(pk__in=[pk for pk, _, _ in ended]).delete()
    titles = sorted({title for _, _, title in ended})
    why = f"inhibition ended: {titles[0][:TITLE_MAX]!r} resolved"
    return inhibition_release(keys={key for _, key, _ in ended}, now=now, why=why)


def sources_rebuild(*, rule_id: int, inhibition: CompiledInhibition | None, now: datetime) -> None:
    """A rule was saved (or disabled: ``inhibition`` None): its source rows are made
    again from the alerts firing now, and incidents it no longer holds page."""
    InhibitionSource.objects.filter(rule_id=rule_id).delete()
    if inhibition is not None:
        firing = Alert.objects.filter(status=Alert.Status.FIRING).only(
            "pk", "alert_key", "title", "severity", "source", "details"
        )
        rows = []
        for alert in firing.iterator(chunk_size=2000):
            event = AlertEvent(
                action="trigger",
                alert_key=alert.alert_key,
                group_key="",
                title=alert.title,
                severity=alert.severity,  # type: ignore[arg-type]
                source=alert.source,
                details=alert.details if isinstance(alert.details, dict) else {},
            )
            if inhibition.source(event, now):
                rows.append(
                    InhibitionSource(rule_id=rule_id, key=inhibition.key(event), alert_id=alert.pk)
                )
        InhibitionSource.objects.bulk_create(rows, batch_size=1000)
    inhibition_release(rule_id=rule_id, now=now, why="inhibit rule changed")
