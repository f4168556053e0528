"""Replay a scenario against a config on a virtual clock and report who was paged, how, when.

Everything runs inside one transaction that is rolled back at the end, so the
database is left as it was, and through the real code: ``oncall_apply`` for the
config, ``alerts_ingest`` and the incident services for the scenario, ``tick`` for the
engine. The clock is virtual: ``django.utils.timezone.now`` is replaced for the run and
jumps from one due time to the next, so a night of escalations takes a second. Sends
go to a recording channel instead of real providers.

Scenario file::

    start: 2026-03-02T03:00:00Z   # optional; default: now
    until: 6h                      # optional; how long to run (default 24h)
    time_zone: Europe/Berlin       # optional; local time in the report (default: the
                                   # zone of the schedules the services page)
    events:
      - at: 0m
        alert: {service: payments-api, key: db-down, title: Primary DB down,
                severity: critical}
      - at: 2m
        fail: {destination: "+12025550101"}   # that address fails permanently from now on
      - at: 12m
        ack: {service: payments-api, key: db-down, by: marcus}
      - at: 2026-03-02T03:40:00Z    # an ISO time works too
        resolve: {service: payments-api, key: db-down}

Other actions: ``escalate: {service, key}``, ``note: {service, key, text}``.
``key`` is the alert's dedup key; ``alert`` also accepts ``status: resolved``. An event
after ``until`` (or before ``start``) is an error, as is a run needing more than
``MAX_STEPS`` clock steps (``--max-steps`` raises it): nothing is cut off silently.

Open incidents, firing alerts and queued or recently sent messages already in the
database are hidden from the simulated engine (inside the rolled-back transaction), so
the run pages, throttles and bundles as it would on an empty database;
``include_existing`` lets them take part. Log records written during the run (provider
failures, a failed tick step) go to the report's timeline, not to stderr.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any, Literal
from unittest import mock

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.db.models import CharField, Max, Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from oncall.people.models import ContactMethod, Engineer
from paging.alert_event import AlertEvent
from paging.channels import TransportError
from paging.engine import tick
from paging.incident_actions import (
    incident_acknowledge,
    incident_add_note,
    incident_escalate_now,
    incident_resolve,
)
from paging.ingest import alerts_ingest
from paging.models import Alert, Incident, IncidentEvent, Integration, Message, Service
from paging.outbox import THROTTLE_WINDOW
from paging.shift_reminders import reminder_lead, reminder_scan_every
from paging.simulate_report import (
    Hidden,
    LogLine,
    RunFacts,
    SimSend,
    local_zone,
    report_json,
    report_text,
)
from paging.simulate_scenario import (
    Scenario,
    ScenarioError,
    ScenarioEvent,
    fmt_offset,
    scenario_load,
)
from schedules.models import Schedule
from schedules.resolver import resolve
from schedules.selectors import schedule_definitions

__all__ = ["MAX_STEPS", "ScenarioError", "SimulationError", "simulate"]

# Clock steps a run may take (each step plays the events due and ticks the engine); a
# scenario that needs more is an error, not a report cut short.
MAX_STEPS = 10_000


class SimulationError(Exception):
    """The run could not play the whole scenario."""


@dataclass
class SimChannel:
    """Records every send; destinations in ``failing`` fail permanently."""

    name: str = "simulation"
    sends: list[SimSend] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)

    def send(self, message: Message) -> str:
        if message.destination in self.failing:
            raise TransportError("simulated permanent failure", permanent=True)
        if message.incident_id:
            incident_ids: tuple[int, ...] = (message.incident_id,)
        else:  # a bundle: the pages folded into it name its incidents
            incident_ids = tuple(
                sorted({i for i in message.bundled.values_list("incident_id", flat=True) if i})
            )
        self.sends.append(
            SimSend(
                at=timezone.now(),
                purpose=message.purpose,
                kind=message.kind,
                destination=message.destination,
                engineer=message.engineer.display_name if message.engineer is not None else "",
                incident_ids=incident_ids,
                subject=message.subject,
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


class _TimelineLog(logging.Handler):
    """Keeps log records at the virtual time they were written."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.lines: list[LogLine] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += ": " + "".join(traceback.format_exception_only(record.exc_info[1])).strip()
        self.lines.append(LogLine(self.clock.now, record.levelname.lower(), record.name, text))


@contextmanager
def _logs_to_timeline(handler: _TimelineLog) -> Iterator[None]:
    """The run's log records go to the report instead of the root logger's handlers
    (stderr): a simulated provider failure is part of the scenario, not an alarm."""
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = [handler]
    try:
        yield
    finally:
        root.handlers = saved


def existing_state_hide(*, since: datetime) -> Hidden:
    """Set aside, inside the simulation's transaction, what would make the simulated engine
    act on the real world: open incidents (and their firing alerts, which new alerts
    would join), messages queued or sent since ``since`` (they would be sent, or count
    against the per-number throttle) and reminder keys (a reminder already sent would
    stop the simulated one). Rolled back with everything else."""
    incidents = Incident.objects.filter(status__in=Incident.OPEN_STATUSES).update(
        status=Incident.Status.RESOLVED, next_due_at=None
    )
    Alert.objects.filter(status=Alert.Status.FIRING).update(status=Alert.Status.RESOLVED)
    messages = Message.objects.filter(
        Q(status__in=[Message.Status.PENDING, Message.Status.SENDING]) | Q(sent_at__gte=since)
    ).update(status=Message.Status.CANCELLED, sent_at=None, claim_token="", lease_expires_at=None)
    Message.objects.filter(purpose=Message.Purpose.REMINDER).update(
        idempotency_key=Concat(Value("hidden-by-simulate:"), Cast("id", CharField()))
    )
    _bridge_cursor_skip()
    return Hidden(incidents=incidents, messages=messages)


def _bridge_cursor_skip() -> None:
    """Updates of real incidents not yet forwarded to Slack/PagerDuty are not the run's."""
    try:
        from paging.channels.incident_changes import CURSOR_NAME  # the channels app, optional
        from paging.channels.models import EventCursor
    except ImportError:
        return
    top = IncidentEvent.objects.aggregate(top=Max("pk"))["top"]
    if top is not None:
        EventCursor.objects.update_or_create(name=CURSOR_NAME, defaults={"last_event_id": top})


def reminder_wakeups(*, start: datetime, end: datetime) -> list[datetime]:
    """When the real engine's reminder scan (once a minute) would write a shift reminder
    between ``start`` and ``end``: the first instant a shift is within the lead, and a
    scan interval later (the scan skips a tick less than an interval after the last).
    The virtual clock stops there too; otherwise it moves only to due rows and events,
    and an idle stretch would skip reminders the real engine sends."""
    lead = reminder_lead()
    if lead <= timedelta(0):
        return []
    times: set[datetime] = set()
    definitions = schedule_definitions(Schedule.objects.values_list("id", flat=True))
    for definition in definitions.values():
        for shift in resolve(definition, start, end + lead):
            if start < shift.start:
                first = max(shift.start - lead, start)
                times.update(t for t in (first, first + reminder_scan_every()) if t < shift.start)
    return sorted(t for t in times if t <= end)


class Simulation:
    def __init__(self, scenario: Scenario, file: str, *, max_steps: int) -> None:
        self.scenario = scenario
        self.file = file
        self.max_steps = max_steps
        self.clock = Clock(scenario.start)
        self.channel = SimChannel()
        self.log = _TimelineLog(self.clock)
        self.incident_ids: set[int] = set()
        self.services: set[str] = set()

    def fail(self, path: str, problem: str) -> None:
        raise ScenarioError(self.file, path, problem)

    def _service(self, args: dict[str, Any], path: str) -> Service:
        service = Service.objects.filter(name=args.get("service")).first()
        if service is None:
            self.fail(f"{path}.service", f"no service named {args.get('service')!r}")
        assert service is not None
        self.services.add(service.name)
        return service

    def _key(self, args: dict[str, Any], path: str) -> str:
        key = args.get("key")
        if not isinstance(key, str) or not key:
            self.fail(f"{path}.key", "expected the alert's dedup key (a string)")
        return key  # type: ignore[return-value]

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
        assert engineer is not None
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
            self.channel.failing.add(destination)  # type: ignore[arg-type]
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
            # Unresolved steps (notices after an ack) are due on their own clock.
            Incident.objects.filter(unresolved_due_at__isnull=False)
            .order_by("unresolved_due_at")
            .values_list("unresolved_due_at", flat=True)
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
        """Play every event and every due step up to ``until``; an error if that needs
        more than ``max_steps`` clock steps."""
        start = self.scenario.start
        end = start + self.scenario.until
        pending = list(self.scenario.events)
        wakeups = reminder_wakeups(start=start, end=end)
        for _ in range(self.max_steps):
            while pending and start + pending[0].offset <= self.clock.now:
                self.apply(pending.pop(0))
            self._tick_until_quiet()
            candidates = [start + e.offset for e in pending[:1]]
            candidates += [t for t in wakeups if t > self.clock.now][:1]
            due = self._next_due()
            if due is not None:
                candidates.append(max(due, self.clock.now + timedelta(seconds=1)))
            if not candidates or min(candidates) > end:
                return
            self.clock.now = min(candidates)
        raise SimulationError(
            f"{self.file}: the scenario needs more than {self.max_steps} steps of the virtual"
            f" clock: stopped at {fmt_offset(self.clock.now - start)} of"
            f" {fmt_offset(self.scenario.until)} with {len(pending)} event(s) not played."
            " Pass --max-steps N to allow more, or shorten until."
        )

    def facts(self, hidden: Hidden | None) -> RunFacts:
        return RunFacts(
            scenario=self.scenario,
            incident_ids=self.incident_ids,
            sends=self.channel.sends,
            logs=self.log.lines,
            hidden=hidden,
            zone=local_zone(scenario=self.scenario, services=sorted(self.services)),
        )


def simulate(
    *,
    config: Path | None,
    scenario_path: Path,
    respect_verification: bool = False,
    include_existing: bool = False,
    max_steps: int | None = None,
    output_format: Literal["text", "json"] = "text",
) -> str:
    """Run the scenario and return the report; the database is left unchanged."""
    scenario = scenario_load(scenario_path, now=timezone.now())
    sim = Simulation(scenario, str(scenario_path), max_steps=max_steps or MAX_STEPS)
    report = ""
    with (
        mock.patch("django.utils.timezone.now", sim.clock),
        mock.patch("paging.outbox.channel_for", lambda kind: sim.channel),
        _logs_to_timeline(sim.log),
    ):
        try:
            with transaction.atomic():
                hidden = None
                if not include_existing:
                    hidden = existing_state_hide(since=scenario.start - THROTTLE_WINDOW)
                if config is not None:
                    call_command("oncall_apply", str(config), stdout=StringIO())
                if not respect_verification:
                    # Phones in a config file are unverified; the simulation assumes they work.
                    ContactMethod.objects.filter(verified_at__isnull=True).update(
                        verified_at=scenario.start
                    )
                sim.run()
                facts = sim.facts(hidden)
                report = report_json(facts) if output_format == "json" else report_text(facts)
                raise _Rollback
        except _Rollback:
            pass
    return report
