"""What ``manage.py simulate`` prints: the timeline, the messages sent by purpose and each
incident's outcome, as text or as JSON.

Times are offsets from the scenario's start with the UTC time and the local time of the
scenario's schedules beside them. Pages are only what went out for incidents; shift
reminders, notices, verification codes and swap messages are listed apart, by purpose.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from io import StringIO
from zoneinfo import ZoneInfo

from paging.models import EscalationTarget, Incident, IncidentEvent, Message
from paging.people_targets import SCHEDULE
from paging.simulate_scenario import Scenario, fmt_offset
from schedules.models import Schedule


@dataclass(frozen=True)
class SimSend:
    at: datetime
    purpose: str
    kind: str
    destination: str
    engineer: str
    # The incident of a page; every incident a bundle stands for; none for reminders…
    incident_ids: tuple[int, ...]
    subject: str


@dataclass(frozen=True)
class LogLine:
    """A log record written during the run (a provider failure, a failed tick step)."""

    at: datetime
    level: str
    logger: str
    text: str


@dataclass(frozen=True)
class Hidden:
    """What the database held that the simulated engine was not shown."""

    incidents: int
    messages: int


@dataclass(frozen=True)
class LocalZone:
    name: str
    why: str


@dataclass
class RunFacts:
    """Everything the run observed, for the report."""

    scenario: Scenario
    incident_ids: set[int]
    sends: list[SimSend]
    logs: list[LogLine]
    hidden: Hidden | None
    zone: LocalZone


PURPOSE_TITLES = {
    Message.Purpose.REMINDER: "Shift reminders",
    Message.Purpose.NOTICE: "Notices (Slack updates, PagerDuty forwards)",
    Message.Purpose.VERIFICATION: "Verification codes",
    Message.Purpose.SWAP: "Shift swap messages",
}


def local_zone(*, scenario: Scenario, services: list[str]) -> LocalZone:
    """The scenario's ``time_zone``, else the zone of the schedules its services page
    (or of every schedule), when they share one; else UTC."""
    if scenario.time_zone:
        return LocalZone(scenario.time_zone, "the scenario's time_zone")
    paged = Schedule.objects.filter(
        pk__in=EscalationTarget.objects.filter(
            kind=SCHEDULE,
            step__policy__services__name__in=services,
        ).values("schedule_id")
    )
    for schedules in (paged, Schedule.objects.all()):
        found = sorted(set(schedules.values_list("time_zone", "name")))
        zones = {zone for zone, _ in found}
        if len(zones) == 1:
            names = ", ".join(name for _, name in found)
            return LocalZone(zones.pop(), f"schedule {names}")
        if len(zones) > 1:
            return LocalZone("UTC", f"schedules differ ({', '.join(sorted(zones))}): set time_zone")
    return LocalZone("UTC", "no schedule")


class _Clockface:
    """Formats an instant as offset, UTC and local time."""

    def __init__(self, start: datetime, zone: LocalZone) -> None:
        self.start = start
        self.tz = ZoneInfo(zone.name)
        self.show_local = zone.name != "UTC"

    def text(self, at: datetime) -> str:
        utc = at.astimezone(ZoneInfo("UTC"))
        out = f"{fmt_offset(at - self.start)}  {utc:%m-%d %H:%M:%S} UTC"
        if self.show_local:
            local = at.astimezone(self.tz)
            out += f"  {local:%m-%d %H:%M:%S %Z}"
        return out

    def json(self, at: datetime) -> dict[str, object]:
        return {
            "offset": fmt_offset(at - self.start),
            "offset_seconds": int((at - self.start).total_seconds()),
            "at": at.astimezone(ZoneInfo("UTC")).isoformat(),
            "local": at.astimezone(self.tz).isoformat(),
        }


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    text: str
    incident_id: int | None = None
    service: str = ""
    actor: str = ""


def _timeline(facts: RunFacts) -> list[TimelineEntry]:
    events = (
        IncidentEvent.objects.filter(
            incident_id__in=facts.incident_ids, at__gte=facts.scenario.start
        )
        .select_related("incident__service", "actor")
        .order_by("at", "id")
    )
    entries = [
        TimelineEntry(
            at=event.at,
            kind=event.kind,
            text=event.text,
            incident_id=event.incident_id,
            service=event.incident.service.name,
            actor=event.actor.display_name if event.actor is not None else "",
        )
        for event in events
    ]
    entries += [
        TimelineEntry(at=line.at, kind="log", text=f"{line.level} {line.logger}: {line.text}")
        for line in facts.logs
    ]
    return sorted(entries, key=lambda e: e.at)  # stable: a send's record before its log


def _who(event: IncidentEvent) -> str:
    if event.actor is not None:
        return f" by {event.actor.display_name}"
    return f" via {event.via}" if event.via else ""


_Kind = IncidentEvent.Kind
# The timeline lines an outcome is told by ({who}: " by <name>" or " via <channel>").
OUTCOME_PHRASES: dict[str, str] = {
    _Kind.ACKNOWLEDGED: "acknowledged{who} at {at}",
    _Kind.ACK_TIMEOUT: "re-triggered after ack timeout at {at}",
    _Kind.ESCALATED: "escalated{who} at {at}",
    _Kind.REASSIGNED: "reassigned{who} at {at}",
    _Kind.MAINTENANCE: "held by a maintenance window at {at}",
    _Kind.MAINTENANCE_ENDED: "maintenance window ended at {at}",
    _Kind.ESCALATION_EXHAUSTED: "policy exhausted at {at} (nobody acknowledged)",
    _Kind.NO_CONTACT: "nobody reachable at {at} ({text})",
    _Kind.RESOLVED: "resolved{who} at {at}",
}


def incident_outcome(incident: Incident, *, start: datetime, end: datetime, pages: int) -> str:
    """What happened to the incident, in order: "3 page(s); acknowledged by … at …;
    re-triggered after ack timeout at …; policy exhausted at …; still triggered at the end"."""
    events = (
        incident.events.filter(at__gte=start, kind__in=OUTCOME_PHRASES)
        .select_related("actor")
        .order_by("at", "id")
    )
    parts = [f"{pages} page(s)"] + [
        OUTCOME_PHRASES[event.kind].format(
            who=_who(event), at=fmt_offset(event.at - start), text=event.text
        )
        for event in events
    ]
    if incident.is_open:
        still = f"still {incident.status} at the end ({fmt_offset(end - start)})"
        if incident.next_due_at is not None:
            due = fmt_offset(incident.next_due_at - start)
            still += (
                f", ack times out at {due}"
                if incident.status == Incident.Status.ACKNOWLEDGED
                else f", next step due at {due}"
            )
        elif incident.status == Incident.Status.TRIGGERED:
            still += ", nobody left to page"
        parts.append(still)
    return "; ".join(parts)


@dataclass(frozen=True)
class IncidentSummary:
    id: int
    title: str
    service: str
    status: str
    outcome: str


def _incidents(facts: RunFacts) -> list[IncidentSummary]:
    start = facts.scenario.start
    end = start + facts.scenario.until
    pages: dict[int, int] = {}
    for send in facts.sends:
        if send.purpose == Message.Purpose.PAGE:
            for incident_id in send.incident_ids:
                pages[incident_id] = pages.get(incident_id, 0) + 1
    return [
        IncidentSummary(
            id=incident.pk,
            title=incident.title,
            service=incident.service.name,
            status=incident.status,
            outcome=incident_outcome(
                incident, start=start, end=end, pages=pages.get(incident.pk, 0)
            ),
        )
        for incident in Incident.objects.filter(pk__in=facts.incident_ids)
        .select_related("service")
        .order_by("pk")
    ]


def _hidden_text(hidden: Hidden) -> str:
    return (
        f"{hidden.incidents} open incident(s) and {hidden.messages} message(s) in the database"
        " were hidden from the simulation (--include-existing to let them take part)"
    )


def _send_text(face: _Clockface, send: SimSend) -> str:
    incidents = " ".join(f"#{i}" for i in send.incident_ids)
    if len(send.incident_ids) > 1:
        incidents += " (bundle)"
    return (
        f"  {face.text(send.at)}  {send.kind:<6} {send.engineer or '-':<20} "
        f"{send.destination:<28} {incidents}".rstrip()
    )


def report_text(facts: RunFacts) -> str:
    start = facts.scenario.start
    face = _Clockface(start, facts.zone)
    out = StringIO()
    end = start + facts.scenario.until
    out.write(
        f"Simulation from {start:%Y-%m-%d %H:%M:%S %Z} to {end:%Y-%m-%d %H:%M:%S %Z}"
        " on a virtual clock\n"
    )
    out.write(f"Local time: {facts.zone.name} ({facts.zone.why})\n")
    if facts.hidden is not None and (facts.hidden.incidents or facts.hidden.messages):
        out.write(_hidden_text(facts.hidden) + "\n")
    out.write("\nTimeline\n")
    for entry in _timeline(facts):
        if entry.kind == "log":
            out.write(f"  {face.text(entry.at)}  log  {entry.text}\n")
            continue
        who = f" [{entry.actor}]" if entry.actor else ""
        label = IncidentEvent.Kind(entry.kind).label.lower()
        out.write(
            f"  {face.text(entry.at)}  #{entry.incident_id} {entry.service}  {label}{who}"
            + (f": {entry.text}" if entry.text else "")
            + "\n"
        )
    out.write("\nPages sent\n")
    pages = [s for s in facts.sends if s.purpose == Message.Purpose.PAGE]
    out.writelines(_send_text(face, send) + "\n" for send in pages)
    if not pages:
        out.write("  (none)\n")
    for purpose, title in PURPOSE_TITLES.items():
        sends = [s for s in facts.sends if s.purpose == purpose]
        if sends:
            out.write(f"\n{title}\n")
            out.writelines(_send_text(face, send) + "\n" for send in sends)
    out.write("\nIncidents\n")
    incidents = _incidents(facts)
    for summary in incidents:
        out.write(f"  #{summary.id} {summary.title}: {summary.status} — {summary.outcome}\n")
    if not incidents:
        out.write("  (none)\n")
    return out.getvalue()


def _send_json(face: _Clockface, send: SimSend) -> dict[str, object]:
    return {
        **face.json(send.at),
        "kind": send.kind,
        "engineer": send.engineer,
        "destination": send.destination,
        "incidents": list(send.incident_ids),
    }


def report_json(facts: RunFacts) -> str:
    start = facts.scenario.start
    face = _Clockface(start, facts.zone)
    report = {
        "start": start.isoformat(),
        "end": (start + facts.scenario.until).isoformat(),
        "time_zone": facts.zone.name,
        "hidden": (
            {"incidents": facts.hidden.incidents, "messages": facts.hidden.messages}
            if facts.hidden is not None
            else None
        ),
        "timeline": [
            {
                **face.json(entry.at),
                "kind": entry.kind,
                "incident": entry.incident_id,
                "service": entry.service,
                "actor": entry.actor,
                "text": entry.text,
            }
            for entry in _timeline(facts)
        ],
        "pages": [_send_json(face, s) for s in facts.sends if s.purpose == Message.Purpose.PAGE],
        "messages": [
            {**_send_json(face, s), "purpose": s.purpose, "subject": s.subject}
            for s in facts.sends
            if s.purpose != Message.Purpose.PAGE
        ],
        "incidents": [vars(summary) for summary in _incidents(facts)],
    }
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
