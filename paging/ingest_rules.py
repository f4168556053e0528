"""The alert-rule and inhibition steps of the ingest (``paging/ingest.py``): what the
rules decide for each event, which new alerts nobody is paged for, suppressed incidents
that an alert which pages has joined, and the inhibition rows a delivery writes.

They run inside the ingest transaction, on its ``_Delivery``; without rules and inhibit
rules (``delivery.rules`` None) none of them runs and the ingest is unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from paging.alert_event import AlertEvent
from paging.alert_rules import rule_outcome
from paging.ingest_sql import rows_insert
from paging.inhibition import Held, held_rows, inhibited, sources_rows
from paging.models import Incident, IncidentEvent
from paging.rules_cache import IntegrationRules

if TYPE_CHECKING:
    from paging.ingest import _Delivery

KEY_MAX = 255


def rules_apply(
    delivery: _Delivery, rules: IntegrationRules, events: list[AlertEvent]
) -> list[AlertEvent]:
    """Run the integration's alert rules over the delivery's triggers and acks (in the
    ingest transaction, no query): outcomes by event index; severity and links are
    written into the events themselves (a new list)."""
    delivery.rules = rules
    delivery.service_ids = rules.service_ids(delivery.service.pk)
    events = list(events)
    delivery.events = events
    if not rules.rules:
        return events
    now = delivery.now
    for index, event in enumerate(events):
        if event.action == "resolve":
            continue
        outcome = rule_outcome(rules.rules, event, now)
        if outcome is None:
            continue
        delivery.outcomes[index] = outcome
        if outcome.severity or outcome.links:
            events[index] = _event_with(
                event,
                severity=outcome.severity or event.severity,
                links=[*event.links, *outcome.links],
            )
    return events


def _event_with(event: AlertEvent, **changes: Any) -> AlertEvent:
    """``dataclasses.replace`` for the hot path: the frozen event copied field by field
    (``replace`` re-runs ``__init__`` through its generic machinery, 3x slower)."""
    new = object.__new__(AlertEvent)
    new.__dict__.update(event.__dict__, **changes)
    return new


def suppressions_decide(
    delivery: _Delivery, new: list[tuple[int, AlertEvent, str]]
) -> tuple[dict[str, str], set[str], dict[int, Held]]:
    """Which new alerts nobody is paged for: (dedup key -> why, for keys all of whose new
    alerts are suppressed; keys with an alert that pages; index -> its inhibition)."""
    rules = delivery.rules
    if rules is None or not (rules.suppressing or rules.inhibitions):
        # Nothing here can be suppressed; an alert joining an incident suppressed
        # before (by a rule since removed, or another integration's) still pages it.
        return {}, {dedup_key for _, _, dedup_key in new}, {}
    inhibitions: dict[int, Held] = {}
    if rules.inhibitions:
        suppressed = {i for i, _, _ in new if (o := delivery.outcomes.get(i)) and o.suppressed_by}
        inhibitions = inhibited(
            inhibitions=rules.inhibitions,
            events=[(i, e) for i, e, _ in new if i not in suppressed],
            delivery_sources=delivery.sources(),
            now=delivery.now,
        )
    held: dict[str, str] = {}
    paging: set[str] = set()
    for index, _, dedup_key in new:
        outcome = delivery.outcomes.get(index)
        why = outcome.suppressed_by if outcome is not None else ""
        if not why and index in inhibitions:
            why = inhibitions[index].reason
        if why:
            held.setdefault(dedup_key, why)
        else:
            paging.add(dedup_key)
    return {k: why for k, why in held.items() if k not in paging}, paging, inhibitions


def rules_text(delivery: _Delivery, index: int) -> str:
    outcome = delivery.outcomes.get(index)
    return "" if outcome is None else outcome.describe()


def suppressions_end(delivery: _Delivery, paging: set[str], created: set[str]) -> bool:
    """Suppressed incidents that an alert which pages has joined: they page now (the
    engine's next tick), like an incident opened by that alert."""
    ids = [
        incident.id for key in paging - created if (incident := delivery.opened[key]).suppressed_by
    ]
    if not ids:
        return False
    Incident.objects.filter(
        pk__in=ids, status=Incident.Status.TRIGGERED, escalation_started_at__isnull=True
    ).update(suppressed_by="", next_due_at=delivery.now, updated_at=delivery.now)
    for key in paging - created:
        incident = delivery.opened[key]
        if incident.suppressed_by:
            was = incident.suppressed_by
            text = f"an alert that is not suppressed joined (was {was}): paging starts"
            delivery.line(incident.id, IncidentEvent.Kind.SUPPRESSION_ENDED, text[:500])
            incident.suppressed_by = ""
    return True


def inhibitions_record(
    delivery: _Delivery,
    new: list[tuple[int, AlertEvent, str]],
    inserted: dict[str, int],
    created: set[str],
    held: dict[str, str],
    inhibitions: dict[int, Held],
) -> None:
    """Source rows for the new alerts that can inhibit others, and the keys that hold
    the incidents opened inhibited: one INSERT each, only when there are any."""
    rules = delivery.rules
    assert rules is not None
    recorded = [
        (inserted[key], event)
        for _, event, _ in new
        if (key := event.alert_key[:KEY_MAX]) in inserted
    ]
    rows_insert(sources_rows(inhibitions=rules.inhibitions, alerts=recorded, now=delivery.now))
    holding: dict[int, tuple[str, ...]] = {}
    for index, _, dedup_key in new:
        if dedup_key in created and dedup_key in held and index in inhibitions:
            incident_id = delivery.opened[dedup_key].id
            holding[incident_id] = tuple(
                sorted({*holding.get(incident_id, ()), *inhibitions[index].keys})
            )
    rows_insert(held_rows(holding))
