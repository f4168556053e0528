"""Replay a scenario against a config on a virtual clock and report who was paged, how, when.

Everything runs inside one transaction that is rolled back at the end, so the
database is left as it was, and through the real code: ``oncall_apply`` for the
config, ``alerts_ingest`` and the incident services for the scenario, ``tick`` for the
engine. The clock is virtual: ``django.utils.timezone.now`` is replaced for the run and
jumps from one due time to the next, so a night of escalations takes a second. Sends
go to a recording channel instead of real providers.

Scenario file::

    start: 2026-03-02T03:00:00Z   # optional; default: now
    until: 6h                      # optional; how long to run at most (default 24h)
    events:
      - at: 0m
        alert: {service: payments-api, key: db-down, title: Primary DB down,
                severity: critical}
      - at: 2m
        fail: {destination: "+12025550101"}   # that address fails permanently from now on
      - at: 12m
        ack: {service: payments-api, key: db-down, by: marcus}
      - at: 40m
        resolve: {service: payments-api, key: db-down}

Other actions: ``escalate: {service, key}``, ``note: {service, key, text}``.
``key`` is the alert's dedup key; ``alert`` also accepts ``status: resolved``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any
from unittest import mock

import yaml
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from oncall.models import ContactMethod, Engineer
from paging.alert_event import AlertEvent
from paging.channels import TransportError
from paging.engine import tick
from paging.ingest import alerts_ingest
from paging.models import Incident, IncidentEvent, Integration, Message, Service
from paging.services import (
    incident_acknowledge,
    incident_add_note,
    incident_escalate_now,
    incident_resolve,
)

ACTIONS = ("alert", "ack", "resolve", "escalate", "note", "fail")
DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
MAX_STEPS = 10_000


class ScenarioError(Exception):
    def __init__(self, file: str, path: str, problem: str) -> None:
        super().__init__(f"{file}: {path}: {problem}")


def parse_duration(value: Any) -> timedelta | None:
    """'90s', '7m', '1h30m' or a number of minutes."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return timedelta(minutes=value) if value >= 0 else None
    match = DURATION.match(str(value).strip())
    if not match or not any(match.groups()):
        return None
    h, m, s = (int(g or 0) for g in match.groups())
    return timedelta(hours=h, minutes=m, seconds=s)


@dataclass(frozen=True)
class ScenarioEvent:
    offset: timedelta
    action: str
    args: dict[str, Any]
    path: str


@dataclass
class Scenario:
    start: datetime
    until: timedelta
    events: list[ScenarioEvent]


def scenario_load(path: Path, *, now: datetime) -> Scenario:
    file = str(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(file, "", f"cannot read the scenario: {exc}") from None
    if not isinstance(doc, dict):
        raise ScenarioError(file, "", "expected a mapping with start, until and events")
    unknown = set(doc) - {"start", "until", "events"}
    if unknown:
        raise ScenarioError(file, sorted(unknown)[0], "unknown key (known: start, until, events)")
    start = doc.get("start", now)
    if isinstance(start, str):
        try:
            start = datetime.fromisoformat(start.replace("Z", "+00:00"))
        except ValueError:
            raise ScenarioError(file, "start", f"{start!r} is not an ISO 8601 time") from None
    if not isinstance(start, datetime):
        raise ScenarioError(file, "start", "expected an ISO 8601 time")
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    until = parse_duration(doc.get("until", "24h"))
    if until is None:
        raise ScenarioError(file, "until", "expected a duration such as 90s, 7m, 2h or 1h30m")
    raw_events = doc.get("events") or []
    if not isinstance(raw_events, list):
        raise ScenarioError(file, "events", "expected a list")
    events = []
    for i, raw in enumerate(raw_events):
        where = f"events[{i}]"
        if not isinstance(raw, dict) or "at" not in raw:
            raise ScenarioError(file, where, "expected a mapping with 'at' and one action")
        offset = parse_duration(raw["at"])
        if offset is None:
            raise ScenarioError(file, f"{where}.at", "expected a duration such as 0m, 90s, 1h")
        actions = [k for k in raw if k != "at"]
        if len(actions) != 1 or actions[0] not in ACTIONS:
            raise ScenarioError(file, where, f"give exactly one action of: {', '.join(ACTIONS)}")
        args = raw[actions[0]]
        if not isinstance(args, dict):
            raise ScenarioError(file, f"{where}.{actions[0]}", "expected a mapping")
        events.append(ScenarioEvent(offset, actions[0], args, f"{where}.{actions[0]}"))
    events.sort(key=lambda e: e.offset)
    return Scenario(start=start, until=until, events=events)


@dataclass
class SimSend:
    at: datetime
    kind: str
    destination: str
    engineer: str
    incident_id: int | None
    subject: str


@dataclass
class SimChannel:
    """Records every send; destinations in ``failing`` fail permanently."""

    name: str = "simulation"
    sends: list[SimSend] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)

    def send(self, message: Message) -> str:
        if message.destination in self.failing:
            raise TransportError("simulated permanent failure", permanent=True)
        engineer = message.engineer.display_name if message.engineer_id else ""
        self.sends.append(
            SimSend(
                timezone.now(),
                message.kind,
                message.destination,
                engineer,
                message.incident_id,
                message.subject,
            )
        )
        return f"sim-{message.pk}"


class _Rollback(Exception):
    pass


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


def _fmt(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"+{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Simulation:
    def __init__(self, scenario: Scenario, file: str) -> None:
        self.scenario = scenario
        self.file = file
        self.clock = Clock(scenario.start)
        self.channel = SimChannel()
        self.incident_ids: set[int] = set()

    def fail(self, path: str, problem: str) -> None:
        raise ScenarioError(self.file, path, problem)

    def _service(self, args: dict[str, Any], path: str) -> Service:
        service = Service.objects.filter(name=args.get("service")).first()
        if service is None:
            self.fail(f"{path}.service", f"no service named {args.get('service')!r}")
        return service

    def _key(self, args: dict[str, Any], path: str) -> str:
        key = args.get("key")
        if not isinstance(key, str) or not key:
            self.fail(f"{path}.key", "expected the alert's dedup key (a string)")
        return key

    def _incident(self, args: dict[str, Any], path: str) -> Incident | None:
        service = self._service(args, path)
        key = self._key(args, path)
        return (
            Incident.objects.filter(service=service, dedup_key=key)
            .order_by("-created_at", "-id")
            .first()
        )

    def _engineer_id(self, args: dict[str, Any], path: str) -> int | None:
        username = args.get("by")
        if username is None:
            return None
        field_name = get_user_model().USERNAME_FIELD
        engineer = Engineer.objects.filter(**{f"user__{field_name}": username}).first()
        if engineer is None:
            self.fail(f"{path}.by", f"no engineer with username {username!r}")
        return engineer.pk

    def _integration(self, service: Service) -> Integration:
        integration = service.integrations.first()
        if integration is None:
            integration = Integration.objects.create(service=service, kind="webhook", name="sim")
        return integration

    def apply(self, event: ScenarioEvent) -> None:
        args, path = event.args, event.path
        if event.action == "fail":
            destination = args.get("destination")
            if not isinstance(destination, str):
                self.fail(f"{path}.destination", "expected a phone number, e-mail or Slack id")
            self.channel.failing.add(destination)
            return
        if event.action == "alert":
            service = self._service(args, path)
            key = self._key(args, path)
            severity = args.get("severity", "critical")
            if severity not in ("critical", "error", "warning", "info"):
                self.fail(f"{path}.severity", "one of critical, error, warning, info")
            action = "resolve" if args.get("status") == "resolved" else "trigger"
            result = alerts_ingest(
                integration=self._integration(service),
                events=[
                    AlertEvent(
                        action=action,  # type: ignore[arg-type]
                        alert_key=key,
                        group_key=key,
                        title=str(args.get("title", key)),
                        severity=severity,
                        source="simulation",
                    )
                ],
            )
            self.incident_ids.update(result.incident_ids)
            return
        incident = self._incident(args, path)
        if incident is None:
            self.fail(path, "no incident with that service and key (yet)")
        assert incident is not None
        engineer_id = self._engineer_id(args, path)
        if event.action == "ack":
            incident_acknowledge(incident_id=incident.pk, engineer_id=engineer_id, via="sim")
        elif event.action == "resolve":
            incident_resolve(incident_id=incident.pk, engineer_id=engineer_id, via="sim")
        elif event.action == "escalate":
            incident_escalate_now(incident_id=incident.pk, engineer_id=engineer_id, via="sim")
        elif event.action == "note":
            incident_add_note(
                incident_id=incident.pk,
                engineer_id=engineer_id,
                text=str(args.get("text", "")),
                via="sim",
            )

    def _next_due(self) -> datetime | None:
        dues = [
            Incident.objects.filter(next_due_at__isnull=False)
            .order_by("next_due_at")
            .values_list("next_due_at", flat=True)
            .first(),
            Message.objects.filter(status=Message.Status.PENDING)
            .order_by("due_at")
            .values_list("due_at", flat=True)
            .first(),
        ]
        found = [d for d in dues if d is not None]
        return min(found) if found else None

    def _tick_until_quiet(self) -> None:
        for _ in range(50):
            if tick() == 0:
                return

    def run(self) -> None:
        end = self.scenario.start + self.scenario.until
        pending = list(self.scenario.events)
        for _ in range(MAX_STEPS):
            while pending and self.scenario.start + pending[0].offset <= self.clock.now:
                self.apply(pending.pop(0))
            self._tick_until_quiet()
            candidates = [self.scenario.start + e.offset for e in pending[:1]]
            due = self._next_due()
            if due is not None:
                candidates.append(max(due, self.clock.now + timedelta(seconds=1)))
            if not candidates or min(candidates) > end:
                return
            self.clock.now = min(candidates)

    def report(self) -> str:
        start = self.scenario.start
        out = StringIO()
        out.write(f"Simulation from {start:%Y-%m-%d %H:%M:%S %Z} on a virtual clock\n\n")
        events = (
            IncidentEvent.objects.filter(incident_id__in=self.incident_ids)
            .select_related("incident__service", "actor")
            .order_by("at", "id")
        )
        out.write("Timeline\n")
        for event in events:
            who = f" [{event.actor.display_name}]" if event.actor_id else ""
            out.write(
                f"  {_fmt(event.at - start)}  #{event.incident_id} {event.incident.service.name}"
                f"  {event.get_kind_display().lower()}{who}"
                + (f": {event.text}" if event.text else "")
                + "\n"
            )
        out.write("\nPages sent\n")
        sends = [
            s for s in self.channel.sends if s.incident_id in self.incident_ids or not s.incident_id
        ]
        for send in sends:
            incident = f"#{send.incident_id}" if send.incident_id else "bundle"
            out.write(
                f"  {_fmt(send.at - start)}  {send.kind:<6} {send.engineer or '?':<20} "
                f"{send.destination:<28} {incident}\n"
            )
        if not sends:
            out.write("  (none)\n")
        out.write("\nIncidents\n")
        for incident in Incident.objects.filter(pk__in=self.incident_ids).order_by("pk"):
            line = f"  #{incident.pk} {incident.title}: {incident.status}"
            ack = incident.events.filter(kind="acknowledged").select_related("actor").first()
            if ack:
                by = ack.actor.display_name if ack.actor_id else ack.via
                line += f", acknowledged by {by} at {_fmt(ack.at - start)}"
            if incident.resolved_at:
                line += f", resolved at {_fmt(incident.resolved_at - start)}"
            out.write(line + "\n")
        return out.getvalue()


def simulate(
    *, config: Path | None, scenario_path: Path, respect_verification: bool = False
) -> str:
    """Run the scenario and return the printed report; the database is left unchanged."""
    scenario = scenario_load(scenario_path, now=timezone.now())
    sim = Simulation(scenario, str(scenario_path))
    report = ""
    with (
        mock.patch("django.utils.timezone.now", sim.clock),
        mock.patch("paging.outbox.channel_for", lambda kind: sim.channel),
    ):
        try:
            with transaction.atomic():
                if config is not None:
                    call_command("oncall_apply", str(config), stdout=StringIO())
                if not respect_verification:
                    # Phones in a config file are unverified; the simulation assumes they work.
                    ContactMethod.objects.filter(verified_at__isnull=True).update(
                        verified_at=scenario.start
                    )
                sim.run()
                report = sim.report()
                raise _Rollback
        except _Rollback:
            pass
    return report
