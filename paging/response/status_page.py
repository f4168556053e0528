"""What the public status page shows, read once per request: the groups' current
states, 90 days of history and the public incidents with their public updates.

Only these reach the page: a group's public name and description, a public incident's
public title, its public status updates (posted while it was public), when it started
and ended, and the impact derived from its priority or urgency. Never the incident's
internal title, alert labels or details, its service's name, people or notes: the
``PublicIncident`` below is the whole vocabulary of the page, the JSON and the feed.

Impact of an open public incident (the group's state is the worst of its incidents'):

| priority             | urgency (no priority) | state          |
| -------------------- | --------------------- | -------------- |
| P1                   |                       | major outage   |
| P2                   | high                  | partial outage |
| P3, P4, P5           | low                   | degraded       |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Prefetch, Q
from django.utils import timezone

from paging.models import Incident
from paging.response.models import IncidentPublication, StatusPageGroup, StatusUpdate

HISTORY_DAYS = 90

OPERATIONAL = "operational"
DEGRADED = "degraded"
PARTIAL = "partial_outage"
MAJOR = "major_outage"
STATES = [OPERATIONAL, DEGRADED, PARTIAL, MAJOR]  # worst last
STATE_LABELS = {
    OPERATIONAL: "Operational",
    DEGRADED: "Degraded performance",
    PARTIAL: "Partial outage",
    MAJOR: "Major outage",
}


def impact_of(*, priority: int | None, urgency: str) -> str:
    """The status page state one open public incident stands for (table above)."""
    if priority is not None:
        return MAJOR if priority == 1 else PARTIAL if priority == 2 else DEGRADED
    return PARTIAL if urgency == "high" else DEGRADED


def worst(states: list[str]) -> str:
    return max(states, key=STATES.index, default=OPERATIONAL)


@dataclass(frozen=True)
class PublicUpdate:
    state: str
    state_label: str
    text: str
    at: datetime


@dataclass(frozen=True)
class PublicIncident:
    public_id: int  # the publication's id, not the incident's number
    title: str
    impact: str
    started_at: datetime
    resolved_at: datetime | None
    groups: list[str]
    updates: list[PublicUpdate]  # newest first

    @property
    def ongoing(self) -> bool:
        return self.resolved_at is None

    @property
    def impact_label(self) -> str:
        return STATE_LABELS[self.impact]


@dataclass(frozen=True)
class Day:
    day: date
    state: str

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass
class GroupStatus:
    name: str
    description: str
    state: str
    days: list[Day] = field(default_factory=list)

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass(frozen=True)
class StatusPage:
    generated_at: datetime
    overall: str
    groups: list[GroupStatus]
    ongoing: list[PublicIncident]
    history: list[PublicIncident]  # resolved within HISTORY_DAYS, newest first

    @property
    def overall_label(self) -> str:
        return STATE_LABELS[self.overall]


def status_page_read(*, now: datetime | None = None) -> StatusPage:
    """The whole page in a handful of queries (groups, publications with their
    incidents, public updates)."""
    now = now or timezone.now()
    since = now - timedelta(days=HISTORY_DAYS)
    groups = list(StatusPageGroup.objects.prefetch_related("services").order_by("position", "name"))
    groups_of_service: dict[int, list[str]] = {}
    for group in groups:
        for service in group.services.all():
            groups_of_service.setdefault(service.pk, []).append(group.name)
    publications = list(
        IncidentPublication.objects.select_related("incident")
        .filter(
            Q(incident__status__in=Incident.OPEN_STATUSES) | Q(incident__resolved_at__gte=since)
        )
        .prefetch_related(
            Prefetch(
                "incident__status_updates",
                queryset=StatusUpdate.objects.filter(public=True).order_by("-at", "-id"),
                to_attr="public_updates",
            )
        )
        .order_by("-incident__created_at", "-id")
    )
    incidents = []
    for pub in publications:
        incident = pub.incident
        incidents.append(
            PublicIncident(
                public_id=pub.pk,
                title=pub.public_title,
                impact=impact_of(priority=incident.priority, urgency=incident.urgency),
                started_at=incident.created_at,
                resolved_at=incident.resolved_at if not incident.is_open else None,
                groups=groups_of_service.get(incident.service_id, []),
                updates=[
                    PublicUpdate(
                        state=u.state, state_label=u.get_state_display(), text=u.text, at=u.at
                    )
                    for u in incident.public_updates  # type: ignore[attr-defined]  # Prefetch to_attr
                ],
            )
        )
    ongoing = [i for i in incidents if i.ongoing]
    history = [i for i in incidents if not i.ongoing]
    statuses = []
    today = now.date()
    for group in groups:
        mine = [i for i in incidents if group.name in i.groups]
        state = worst([i.impact for i in mine if i.ongoing])
        days = []
        for back in range(HISTORY_DAYS - 1, -1, -1):
            day = today - timedelta(days=back)
            start = datetime.combine(day, datetime.min.time(), tzinfo=now.tzinfo)
            end = start + timedelta(days=1)
            days.append(
                Day(
                    day=day,
                    state=worst(
                        [
                            i.impact
                            for i in mine
                            if i.started_at < end and (i.resolved_at or now) >= start
                        ]
                    ),
                )
            )
        statuses.append(
            GroupStatus(name=group.name, description=group.description, state=state, days=days)
        )
    return StatusPage(
        generated_at=now,
        overall=worst([g.state for g in statuses] + [i.impact for i in ongoing if not i.groups]),
        groups=statuses,
        ongoing=ongoing,
        history=history,
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def status_page_json(page: StatusPage) -> dict[str, object]:
    """The JSON document of ``/status/json`` (README "Status page")."""

    def incident(i: PublicIncident) -> dict[str, object]:
        return {
            "id": i.public_id,
            "title": i.title,
            "impact": i.impact,
            "started_at": _iso(i.started_at),
            "resolved_at": _iso(i.resolved_at),
            "groups": i.groups,
            "updates": [{"state": u.state, "text": u.text, "at": _iso(u.at)} for u in i.updates],
        }

    return {
        "generated_at": _iso(page.generated_at),
        "status": page.overall,
        "groups": [
            {
                "name": g.name,
                "description": g.description,
                "status": g.state,
                "history": [{"date": d.day.isoformat(), "status": d.state} for d in g.days],
            }
            for g in page.groups
        ],
        "ongoing": [incident(i) for i in page.ongoing],
        "history": [incident(i) for i in page.history],
    }
