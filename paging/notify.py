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

from django.conf import settings

from oncall.models import ContactMethod, Engineer, NotificationRule
from paging.models import Incident, IncidentEvent, Message
from paging.timeline import event_build


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

    def load(self, engineer_ids: Iterable[int], urgency: str) -> None:
        wanted = {e for e in engineer_ids if (e, urgency) not in self.ladders}
        if not wanted:
            return
        for engineer_id, name in Engineer.objects.filter(pk__in=wanted).values_list(
            "pk", "display_name"
        ):
            self.names[engineer_id] = name
        ladders: dict[int, list[Rung]] = {e: [] for e in wanted}
        rules = (
            NotificationRule.objects.filter(engineer_id__in=wanted, urgency=urgency)
            .select_related("contact_method")
            .order_by("engineer_id", "delay_minutes", "id")
        )
        for rule in rules:
            cm = rule.contact_method
            if cm.engineer_id == rule.engineer_id and cm.is_pageable:
                ladders[rule.engineer_id].append(
                    Rung(rule.pk, cm.pk, cm.kind, cm.value, rule.delay_minutes)
                )
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


def page_subject(incident: Incident) -> str:
    return f"[{incident.urgency.upper()}] #{incident.pk} {incident.title}"[:255]


def page_body(incident: Incident, service_name: str) -> str:
    base = getattr(settings, "PUBLIC_BASE_URL", "").rstrip("/")
    return (
        f"{service_name}: {incident.title} (incident #{incident.pk}, {incident.severity}). "
        f"Acknowledge: {base}/admin/paging/incident/{incident.pk}/change/"
    )


@dataclass
class PagePlan:
    messages: list[Message] = field(default_factory=list)
    events: list[IncidentEvent] = field(default_factory=list)
    # Events to write once the messages have ids: (message index, event).
    queued: list[tuple[int, IncidentEvent]] = field(default_factory=list)
    cache: RulesCache = field(default_factory=RulesCache)

    def names_for(self, engineer_ids: Iterable[int]) -> list[str]:
        return [self.cache.name(e) for e in engineer_ids]

    def save(self) -> None:
        """Write the messages, then the timeline lines that point at them."""
        Message.objects.bulk_create(self.messages, batch_size=500)
        for index, event in self.queued:
            event.message_id = self.messages[index].pk
        IncidentEvent.objects.bulk_create(
            self.events + [event for _, event in self.queued], batch_size=500
        )


def pages_plan(
    *,
    incidents_engineers: list[tuple[Incident, list[int]]],
    step_label: str,
    now: datetime,
    plan: PagePlan | None = None,
    service_names: dict[int, str] | None = None,
) -> PagePlan:
    """Add to ``plan`` the messages paging each engineer about each incident.

    ``step_label`` is the step index (as text) or a word such as "reassign"; with the
    incident's loop it makes the idempotency key of every message unique.
    """
    plan = plan or PagePlan()
    for incident, _ in incidents_engineers:
        plan.cache.load({e for _, ids in incidents_engineers for e in ids}, incident.urgency)
    for incident, engineer_ids in incidents_engineers:
        service_name = (service_names or {}).get(incident.service_id) or incident.service.name
        subject = page_subject(incident)
        body = page_body(incident, service_name)
        step_number = int(step_label) if step_label.isdigit() else None
        for engineer_id in engineer_ids:
            rungs = plan.cache.ladder(engineer_id, incident.urgency)
            if not rungs:
                plan.events.append(
                    event_build(
                        incident_id=incident.pk,
                        kind=IncidentEvent.Kind.NO_CONTACT,
                        at=now,
                        text=f"{plan.cache.name(engineer_id)} has no pageable contact method",
                        data={"engineer_id": engineer_id},
                    )
                )
                continue
            for rung in rungs:
                key = (
                    f"page:{incident.pk}:{step_label}:{incident.escalation_loop}:"
                    f"{engineer_id}:{rung.contact_method_id}:{rung.rule_id or 0}"
                )
                due = now + timedelta(minutes=rung.delay_minutes)
                plan.messages.append(
                    Message(
                        idempotency_key=key,
                        purpose=Message.Purpose.PAGE,
                        kind=rung.kind,
                        destination=rung.destination,
                        subject=subject,
                        body=body,
                        due_at=due,
                        engineer_id=engineer_id,
                        contact_method_id=rung.contact_method_id,
                        incident_id=incident.pk,
                        escalation_step=step_number,
                        escalation_loop=incident.escalation_loop,
                        notification_rule_id=rung.rule_id,
                    )
                )
                plan.queued.append(
                    (
                        len(plan.messages) - 1,
                        event_build(
                            incident_id=incident.pk,
                            kind=IncidentEvent.Kind.NOTIFICATION_QUEUED,
                            at=now,
                            actor_id=None,
                            text=(
                                f"{rung.kind} to {plan.cache.name(engineer_id)} "
                                f"({rung.destination})"
                                + (f" at +{rung.delay_minutes} min" if rung.delay_minutes else "")
                                + ("" if rung.rule_id else " (no rule for this urgency)")
                            ),
                            data={"engineer_id": engineer_id, "due_at": due.isoformat()},
                        ),
                    )
                )
    return plan
