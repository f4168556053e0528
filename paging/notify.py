"""Turning "page these engineers about this incident" into outbox rows.

Each engineer is reached through their own notification rules for the incident's
urgency: one message per rule, due at now + the rule's delay, only on pageable
contact methods. The rows are written in the caller's transaction; the dispatcher
sends them and, before each send, checks that the incident is still unacknowledged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import connection

from oncall.people.models import ContactMethod, Engineer, NotificationRule
from oncall.public_url import public_url
from paging.bulk import tuples_insert
from paging.ingest_sql import quoted
from paging.models import Incident, IncidentEvent, Message


@dataclass(frozen=True)
class Rung:
    """One rule of an engineer's ladder, resolved to a pageable contact method."""

    rule_id: int | None
    contact_method_id: int
    kind: str
    destination: str
    delay_minutes: int


@dataclass
class RulesCache:
    """Engineers' ladders and names, loaded once per batch of incidents."""

    ladders: dict[tuple[int, str], list[Rung]] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    time_zones: dict[int, str] = field(default_factory=dict)

    def load(self, engineer_ids: Iterable[int], urgency: str) -> None:
        wanted = {e for e in engineer_ids if (e, urgency) not in self.ladders}
        if not wanted:
            return
        ladders: dict[int, list[Rung]] = {e: [] for e in wanted}
        for row in _ladder_rows(sorted(wanted), urgency):
            engineer_id, name, tz, rule_id, delay, cm_id, cm_engineer, kind, value = row[:9]
            self.names[engineer_id] = name
            self.time_zones[engineer_id] = tz
            if rule_id is None or cm_engineer != engineer_id:
                continue
            method = ContactMethod(kind=kind, disabled_at=row[9], verified_at=row[10])
            if method.is_pageable:
                ladders[engineer_id].append(Rung(rule_id, cm_id, kind, value, delay))
        # No rule for this urgency: reach the first pageable method at once rather
        # than nobody (the timeline says so).
        bare = [e for e, rungs in ladders.items() if not rungs]
        if bare:
            for cm in ContactMethod.objects.filter(engineer_id__in=bare).order_by("kind", "id"):
                if cm.is_pageable and not ladders[cm.engineer_id]:
                    ladders[cm.engineer_id].append(Rung(None, cm.pk, cm.kind, cm.value, 0))
        for engineer_id, rungs in ladders.items():
            self.ladders[(engineer_id, urgency)] = rungs

    def ladder(self, engineer_id: int, urgency: str) -> list[Rung]:
        self.load([engineer_id], urgency)
        return self.ladders[(engineer_id, urgency)]

    def name(self, engineer_id: int) -> str:
        return self.names.get(engineer_id, f"engineer {engineer_id}")


def _ladder_rows(engineer_ids: list[int], urgency: str) -> list[tuple]:
    """Each engineer (name, zone) with their rules for ``urgency`` and the rules' contact
    methods, in ladder order: one hand-built statement (the ORM compiled two for longer
    than PostgreSQL ran them, once per tick that pages)."""
    engineer, rule, method = (
        quoted(m._meta.db_table) for m in (Engineer, NotificationRule, ContactMethod)
    )
    sql = (
        "SELECT e.id, e.display_name, e.time_zone, r.id, r.delay_minutes, c.id,"  # noqa: S608 - names from model meta
        " c.engineer_id, c.kind, c.value, c.disabled_at, c.verified_at"
        f" FROM {engineer} e LEFT JOIN {rule} r ON r.engineer_id = e.id AND r.urgency = %s"
        f" LEFT JOIN {method} c ON c.id = r.contact_method_id"
        f" WHERE e.id IN ({', '.join(['%s'] * len(engineer_ids))})"
        " ORDER BY e.id, r.delay_minutes, r.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [urgency, *engineer_ids])
        return cursor.fetchall()


def business_hours_start(at: datetime, time_zone: str) -> datetime:
    """``at`` if it falls in business hours (Mon-Fri, 08:00-18:00 local), else the next start."""
    start_hour, end_hour = settings.PAGING_BUSINESS_HOURS
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = at.astimezone(zone)
    for _ in range(8):
        if local.weekday() < 5 and local.hour < end_hour:
            opening = local.replace(hour=start_hour, minute=0, second=0, microsecond=0)
            return max(local, opening).astimezone(at.tzinfo)
        local = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return at


def page_subject(incident: Incident) -> str:
    return f"[{incident.urgency.upper()}] #{incident.pk} {incident.title}"[:255]


def incident_url(incident_id: int) -> str:
    """The incident's page, as pages, Slack and PagerDuty link to it (a fixed path: sent
    from workers and from tests' own URL confs, which need not include the admin)."""
    return public_url(f"/admin/paging/incident/{incident_id}/change/")


def page_body(incident: Incident, service_name: str) -> str:
    return (
        f"{service_name}: {incident.title} (incident #{incident.pk}, {incident.severity}). "
        f"Acknowledge: {incident_url(incident.pk)}"
    )


MESSAGE_COLUMNS = (
    "idempotency_key",
    "purpose",
    "kind",
    "destination",
    "subject",
    "body",
    "status",
    "due_at",
    "attempts",
    "transport",
    "provider_id",
    "last_error",
    "created_at",
    "engineer_id",
    "contact_method_id",
    "incident_id",
    "escalation_step",
    "escalation_loop",
    "notification_rule_id",
)
EVENT_COLUMNS = ("incident_id", "kind", "at", "actor_id", "via", "message_id", "text", "data")


@dataclass
class PagePlan:
    """Outbox rows and timeline lines to write, as plain tuples (see paging.bulk)."""

    messages: list[tuple] = field(default_factory=list)
    events: list[tuple] = field(default_factory=list)
    cache: RulesCache = field(default_factory=RulesCache)

    def names_for(self, engineer_ids: Iterable[int]) -> list[str]:
        return [self.cache.name(e) for e in engineer_ids]

    def event(
        self,
        *,
        incident_id: int,
        kind: str,
        at: datetime,
        text: str = "",
        data: dict | None = None,
        actor_id: int | None = None,
    ) -> None:
        self.events.append((incident_id, kind, at, actor_id, "", None, text, data or {}))

    def save(self) -> None:
        tuples_insert(Message, MESSAGE_COLUMNS, self.messages)
        tuples_insert(IncidentEvent, EVENT_COLUMNS, self.events, json_columns=frozenset({"data"}))


def _when(minutes: int) -> str:
    return "now" if not minutes else f"at +{minutes} min"


def pages_plan(
    *,
    incidents_engineers: list[tuple[Incident, list[int]]],
    step_label: str,
    now: datetime,
    plan: PagePlan | None = None,
    service_names: dict[int, str] | None = None,
    business_hours: dict[int, bool] | None = None,
) -> PagePlan:
    """Add to ``plan`` the messages paging each engineer about each incident.

    ``step_label`` is the step index (as text) or a word such as "reassign"; with the
    incident's loop it makes the idempotency key of every message unique. The
    timeline gets one "queued" line per engineer listing their ladder.
    """
    plan = plan or PagePlan()
    for urgency in {incident.urgency for incident, _ in incidents_engineers}:
        plan.cache.load({e for _, ids in incidents_engineers for e in ids}, urgency)
    step_number = int(step_label) if step_label.isdigit() else None
    for incident, engineer_ids in incidents_engineers:
        service_name = (service_names or {}).get(incident.service_id) or incident.service.name
        office_hours = incident.urgency == "low" and (
            (business_hours or {}).get(incident.service_id)
            if business_hours is not None
            else incident.service.low_urgency_business_hours_only
        )
        subject = page_subject(incident)
        body = page_body(incident, service_name)
        loop = incident.escalation_loop
        for engineer_id in engineer_ids:
            name = plan.cache.name(engineer_id)
            rungs = plan.cache.ladder(engineer_id, incident.urgency)
            if not rungs:
                plan.event(
                    incident_id=incident.pk,
                    kind=IncidentEvent.Kind.NO_CONTACT,
                    at=now,
                    text=f"{name} has no pageable contact method",
                    data={"engineer_id": engineer_id},
                    actor_id=None,
                )
                continue
            held_until = (
                business_hours_start(now, plan.cache.time_zones.get(engineer_id, "UTC"))
                if office_hours
                else now
            )
            for rung in rungs:
                plan.messages.append(
                    (
                        f"page:{incident.pk}:{step_label}:{loop}:"
                        f"{engineer_id}:{rung.contact_method_id}:{rung.rule_id or 0}",
                        Message.Purpose.PAGE.value,
                        rung.kind,
                        rung.destination,
                        subject,
                        body,
                        Message.Status.PENDING.value,
                        held_until + timedelta(minutes=rung.delay_minutes),
                        0,
                        "",
                        "",
                        "",
                        now,
                        engineer_id,
                        rung.contact_method_id,
                        incident.pk,
                        step_number,
                        loop,
                        rung.rule_id,
                    )
                )
            ladder = ", ".join(f"{r.kind} {r.destination} {_when(r.delay_minutes)}" for r in rungs)
            plan.event(
                incident_id=incident.pk,
                kind=IncidentEvent.Kind.NOTIFICATION_QUEUED,
                at=now,
                text=f"for {name}: {ladder}"
                + ("" if rungs[0].rule_id else " (no rule for this urgency)")
                + (
                    f" (low urgency: held until business hours, {held_until:%a %H:%M} UTC)"
                    if held_until > now
                    else ""
                ),
                data={"engineer_id": engineer_id},
            )
    return plan
