"""Shared by the dispatch benchmarks: a throwaway PostgreSQL database, a cast of
engineers, real pages written by the escalation engine, dispatcher worker processes.

Pages are real: incidents on services whose policy pages ``GROUP`` engineers at once;
``escalations_advance`` writes the outbox rows (with incident, engineer, contact
method and rule), so each send renders the page (reply code, signed ack link),
checks the per-contact-method throttle, holds the incident FOR SHARE and writes its
timeline line, as in production. The rows are parked (due tomorrow) until the
dispatchers are up, then made due in one UPDATE, so process start-up is not timed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
GROUP = 10  # engineers paged by one incident (one escalation step, 10 engineer targets)

# A dispatcher worker process. BENCH_LOOP=run (default): what the engine's dispatch
# step does, back to back (``dispatcher.run`` claims for free slots and waits up to 1 s
# on sends in flight). BENCH_LOOP=tick: what a celery worker does, a whole engine tick
# every ENGINE_TICK_SECONDS (beat's cadence, no kicks). Stops when its stdin closes;
# prints its CPU seconds since it was ready (start-up left out) and its claims.
WORKER = """
import json, os, resource, sys, threading, time, django
django.setup()
from django.conf import settings
from paging import dispatch
from paging.dispatch import dispatcher
from paging.engine import tick
claims = [0, 0]  # claim transactions that found rows, rows they claimed
def counted(limit, **kwargs):
    rows = claim(limit, **kwargs)
    if rows:
        claims[0] += 1
        claims[1] += len(rows)
    return rows
claim, dispatch.rows_claim = dispatch.rows_claim, counted
dispatcher.start()
ready = resource.getrusage(resource.RUSAGE_SELF)
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
print("ready", flush=True)
if os.environ.get("BENCH_LOOP", "run") == "tick":
    while not stop.is_set():
        started = time.monotonic()
        tick()
        stop.wait(max(0.0, started + settings.ENGINE_TICK_SECONDS - time.monotonic()))
else:
    while not stop.is_set():
        if not dispatcher.run(wait_seconds=1.0) and not dispatcher.in_flight():
            stop.wait(0.02)  # nothing due, nothing in flight: look again shortly
dispatcher.drain(60)
usage = resource.getrusage(resource.RUSAGE_SELF)
busy = usage.ru_utime + usage.ru_stime - ready.ru_utime - ready.ru_stime
print(json.dumps({"cpu": busy, "claims": claims[0], "claimed": claims[1]}), flush=True)
"""


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oncall.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    import django

    django.setup()


def database_create(suffix: str) -> tuple[str, str]:
    """Switch this process to a fresh, migrated ``<name>_<suffix>`` database.

    Returns (the old name for ``database_destroy``, the URL for worker processes).
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("set DATABASE_URL=postgres://…: this benchmark runs against PostgreSQL")
    db = connection.settings_dict
    db.setdefault("TEST", {})["NAME"] = f"{db['NAME']}_{suffix}"
    old = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    url = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return old, url


def database_destroy(old: str) -> None:
    from django.db import connection

    connection.creation.destroy_test_db(old, verbosity=0)


def connections_free() -> tuple[int, int]:
    """(max_connections, connections open now on the whole server, other sessions' too)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('max_connections')::int, count(*) FROM pg_stat_activity"
        )
        limit, used = cursor.fetchone()
    return limit, used


def postgres_cpu_seconds() -> float:
    """CPU seconds (from /proc) of the server processes serving this database, other than
    this process's own connection: the dispatchers' backends, while they are connected."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        )
        pids = [pid for (pid,) in cursor.fetchall()]
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # not on this machine's /proc, or gone
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def cast_create(engineers: int, kinds: tuple[str, ...], group: int = GROUP) -> list[object]:
    """``engineers`` engineers, each with one contact method per kind and a rule at 0
    minutes for each; one service per ``group`` engineers whose first step pages them all.
    Returns the services."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from oncall.people.models import ContactMethod, Engineer, NotificationRule, Team
    from paging.models import EscalationPolicy, EscalationStep, EscalationTarget, Service

    user_model = get_user_model()
    team = Team.objects.create(name="bench", slug="bench")
    users = user_model.objects.bulk_create(
        [user_model(username=f"bench{i}") for i in range(engineers)]
    )
    people = Engineer.objects.bulk_create(
        [Engineer(user=u, display_name=f"Engineer {i}") for i, u in enumerate(users)]
    )
    now = timezone.now()
    methods = ContactMethod.objects.bulk_create(
        [
            ContactMethod(engineer=e, kind=kind, value=destination(kind, i), verified_at=now)
            for i, e in enumerate(people)
            for kind in kinds
        ]
    )
    NotificationRule.objects.bulk_create(
        [NotificationRule(engineer_id=m.engineer_id, contact_method=m) for m in methods]
    )
    services = []
    for n in range(0, engineers, group):
        policy = EscalationPolicy.objects.create(name=f"bench policy {n // group}")
        step = EscalationStep.objects.create(policy=policy, position=0, delay_minutes=60)
        EscalationTarget.objects.bulk_create(
            EscalationTarget(step=step, kind="engineer", engineer=e) for e in people[n : n + group]
        )
        services.append(
            Service.objects.create(name=f"bench {n // group}", team=team, escalation_policy=policy)
        )
    return services


def destination(kind: str, n: int) -> str:
    return f"+1415{n:07d}" if kind == "sms" else f"eng{n}@example.test"


def pages_create(services: list[object], tag: str) -> int:
    """One incident per service, escalated by the engine: ``GROUP`` pages per incident
    per contact method kind. The rows are parked (due tomorrow); returns how many."""
    from django.db import connection
    from django.utils import timezone

    from paging.escalation import escalations_advance
    from paging.models import Incident, Message

    with connection.cursor() as cursor:  # the previous run's incidents, pages, timeline
        cursor.execute("TRUNCATE paging_incident CASCADE")
    now = timezone.now()
    Incident.objects.bulk_create(
        Incident(
            service=service,
            escalation_policy_id=service.escalation_policy_id,  # type: ignore[attr-defined]
            dedup_key=f"{tag}-{i}",
            title=f"bench incident {i}: disk full on db-{i}",
            created_at=now,
            updated_at=now,
            next_due_at=now,
        )
        for i, service in enumerate(services)
    )
    escalations_advance()
    return Message.objects.filter(status="pending").update(due_at=now + timedelta(days=1))


def pages_release(start: datetime, *, per_second: float | None = None) -> None:
    """Make the parked pages due: all at ``start``, or one incident's pages after another
    at ``per_second`` incidents a second from ``start`` (in incident order)."""
    from django.db import connection

    from paging.models import Message

    if per_second is None:
        Message.objects.filter(status="pending").update(due_at=start)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE paging_message m SET due_at = %s + (r.n - 1) * interval '1 second' / %s"
            " FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM paging_incident) r"
            " WHERE m.incident_id = r.id AND m.status = 'pending'",
            [start, per_second],
        )


@dataclass
class Workers:
    """``count`` dispatcher processes with ``env``; their stderr goes to one file."""

    count: int
    env: dict[str, str]
    procs: list[subprocess.Popen[str]] = field(default_factory=list)
    # Closed with the process that ran the benchmark.
    log: IO[str] = field(default_factory=lambda: tempfile.TemporaryFile("w+"))  # noqa: SIM115
    cpu_seconds: float = 0.0
    claims: int = 0  # claim transactions that found rows
    claimed: int = 0  # rows they claimed

    def start(self) -> Workers:
        for _ in range(self.count):
            self.procs.append(
                subprocess.Popen(  # noqa: S603 - our own interpreter and script
                    [sys.executable, "-c", WORKER],
                    cwd=ROOT,
                    env=self.env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=self.log,
                    text=True,
                )
            )
        for proc in self.procs:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            if line != "ready":
                self.stop()
                sys.exit(f"a dispatcher process did not start:\n{self.stderr()}")
        return self

    def stop(self, then: Callable[[], None] | None = None) -> None:
        """Ask every process to stop claiming (``then`` runs after that), wait for them."""
        for proc in self.procs:
            if proc.stdin is not None and not proc.stdin.closed:
                proc.stdin.close()
        if then is not None:
            then()
        for proc in self.procs:
            try:
                proc.wait(timeout=90)  # its stdout is a few lines: the pipe cannot fill
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            assert proc.stdout is not None
            for line in proc.stdout.read().splitlines():
                if line.startswith("{"):
                    figures = json.loads(line)
                    self.cpu_seconds += figures["cpu"]
                    self.claims += figures["claims"]
                    self.claimed += figures["claimed"]

    def stderr(self) -> str:
        self.log.seek(0)
        return self.log.read()


def worker_env(url: str, **settings: object) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="oncall.settings",
        SECRET_KEY=env.get("SECRET_KEY") or "bench-only",
        DEBUG="False",
        DATABASE_URL=url,
        PYTHONPATH=str(ROOT),
        LOG_LEVEL="WARNING",
        PUBLIC_BASE_URL="http://127.0.0.1:8000",
    )
    env.update({k: str(v) for k, v in settings.items()})
    return env


def wait_until(predicate: Callable[[], bool], seconds: float, poll: float = 0.1) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return predicate()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def machine_line() -> str:
    one, five, fifteen = os.getloadavg()
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cores; load average at start"
        f" {one:.1f} / {five:.1f} / {fifteen:.1f} (1 / 5 / 15 min)"
    )
