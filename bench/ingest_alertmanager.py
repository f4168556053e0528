"""Ingest benchmark: Alertmanager webhooks against gunicorn + PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oncall python -m bench ingest_alertmanager

Environment knobs (all optional): BENCH_WORKERS (gunicorn processes, 2), BENCH_THREADS
(threads per worker, 4), BENCH_SECONDS (length of each phase, 20), BENCH_CONCURRENCY
(connections of the saturation phase, 16), BENCH_RATE (fixed-rate phase, 200 alerts/s),
BENCH_ALERTS_PER_MESSAGE (1), BENCH_PORT (8765), BENCH_WORKER_CLASS (gthread; sync
closes the connection after each request). On the 2-core machine, shared with
PostgreSQL and this load generator, 2 gthread workers x 4 threads used the least CPU
per alert; 3 x 2 and 4 x 2 cost more CPU per alert for no more throughput.

What it does:
1. creates (drops first) the database ``<DATABASE_URL name>_bench`` and migrates it;
2. creates one service and one Alertmanager integration (grouping by group);
3. starts gunicorn (gthread workers: keep-alive, so the driver reuses connections) in
   embedded mode (no broker: the kick after commit only sets an in-process event, so
   the figures are the ingest path alone);
4. from this process (threads + http.client, one keep-alive connection each) runs
   (a) a saturation phase: as many messages as BENCH_CONCURRENCY connections can send,
       -> sustained accepted alerts/s (HTTP 202);
   (b) a fixed-rate phase at BENCH_RATE alerts/s (open loop: each request has a
       scheduled send time and latency counts from it, so a stall is not hidden by the
       client waiting) -> p50/p90/p99/max latency.
Every message carries new alerts with a new group key: each alert opens an incident,
the most expensive path (incident + alert + timeline rows), not a cheap repeat.

5. (c) CPU milliseconds per alert, end to end, for 1 alert/message and 50 alerts/message:
   a second service whose policy pages an engineer at once (console channel), so every
   incident is escalated and paged. BENCH_CPU_ALERTS alerts (1000) at BENCH_CPU_RATE
   alerts/s (50); the meter stops when every incident has its page sent. Measured per
   topology (BENCH_CPU_TOPOLOGIES, "embedded,production"):
   - embedded: ``manage.py oncall_run`` (waitress + the engine thread, one process);
   - production: gunicorn (as above) + ``celery worker`` (BENCH_CELERY_CONCURRENCY, 2) +
     ``celery beat``; needs BENCH_BROKER (e.g. redis://127.0.0.1:6379/9), skipped without.
   CPU = utime + stime from /proc: the server processes and their children (web,
   workers), and every process named ``postgres`` plus what the postmaster reaped
   (backends that exited during the run: CONN_MAX_AGE=0 opens one per request). The
   PostgreSQL server is shared, so the same sum over an idle period just before is shown
   as "idle background" (other databases' work, the engine's idle ticks).
BENCH_PHASES ("throughput,cpu") picks the phases. DATABASE_POOL=false (and the other
DATABASE_POOL_* settings) pass through to every server process: compare pool vs
connect-per-request with the same command.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


@dataclass
class Phase:
    sent: int = 0
    accepted: int = 0
    alerts: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, status: int | str, latency_ms: float, alerts: int) -> None:
        with self.lock:
            self.sent += 1
            self.latencies_ms.append(latency_ms)
            if status == 202:
                self.accepted += 1
                self.alerts += alerts
            else:
                self.errors[str(status)] = self.errors.get(str(status), 0) + 1


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("set DATABASE_URL=postgres://…: the ingest benchmark runs against PostgreSQL")
    parts = urlparse(url)
    name = parts.path.lstrip("/") or "oncall"
    return urlunparse(parts._replace(path=f"/{name}_bench"))


def database_recreate(url: str) -> None:
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def server_env(db_url: str, root: Path = ROOT) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root)  # the tree the servers run (a baseline's, see cost_per_alert)
    env.update(
        DATABASE_URL=db_url,
        SECRET_KEY="bench-secret-key",
        DEBUG="False",
        LOG_LEVEL="ERROR",  # 4xx answers are logged as warnings: keep the output short
        DJANGO_SETTINGS_MODULE="oncall.settings",
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    env.pop("CELERY_BROKER_URL", None)
    return env


SETUP_SCRIPT = """
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from bench.ingest_alertmanager import message
from oncall.people.models import Team
from paging.models import Incident, Integration, Service
# The rate limit (in trees that have it) stays on, far above the load: its
# statement per request is part of what is measured.
LIMITED = any(f.name == "rate_limit_per_minute" for f in Integration._meta.fields)
UNLIMITED = {"rate_limit_per_minute": 1_000_000} if LIMITED else {}
team, _ = Team.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
service = Service.objects.create(name="bench", team=team)
token = Integration.objects.create(service=service, kind="alertmanager", **UNLIMITED).token
# Queries of one message with one new alert, through the whole request stack (the
# integration already cached by a first message, as in a running server).
url = f"/integrations/alertmanager/{token}/"
client = Client(HTTP_HOST="localhost")
for _ in range(2):
    with CaptureQueriesContext(connection) as queries:
        status = client.post(url, message(1), content_type="application/json").status_code
assert status == 202, status
Incident.objects.all().delete()
print(len(queries.captured_queries))
print(token)
"""


def setup(db_url: str) -> tuple[str, int]:
    """The integration token, and the queries one new alert costs."""
    env = server_env(db_url)
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    out = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", SETUP_SCRIPT],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    *_, queries, token = out.stdout.strip().splitlines()
    return token, int(queries)


def gunicorn_start(
    db_url: str, port: int, workers: int, threads: int, worker_class: str
) -> subprocess.Popen:
    cmd = [
        str(Path(PYTHON).parent / "gunicorn"),
        "oncall.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        worker_class,
        "--threads",
        str(threads),
        "--keep-alive",
        "30",
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=server_env(db_url))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/v2/enqueue")  # 405, no database: the server is up
            conn.getresponse().read()
            conn.close()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    sys.exit("gunicorn did not start within 30 s")


class CpuMeter:
    """CPU used by the server side (gunicorn, PostgreSQL) and this client, since creation.

    PostgreSQL is every process named postgres plus the backends the postmaster reaped:
    without the pool (DATABASE_POOL=false) a backend lives for one request only.
    """

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.start = self._sample()

    def _sample(self) -> dict[str, float]:
        return {
            "gunicorn": tree_cpu_seconds(self.server_pid),
            "postgres": postgres_cpu_seconds(),
            "client": time.process_time(),
        }

    def per_alert_ms(self, alerts: int) -> dict[str, float]:
        end = self._sample()
        return {k: (end[k] - self.start[k]) * 1000 / max(alerts, 1) for k in end}


def message(alerts: int, group: str = "") -> bytes:
    """One Alertmanager v4 message with ``alerts`` new alerts in a new group."""
    group = group or uuid.uuid4().hex
    return json.dumps(
        {
            "version": "4",
            "groupKey": f'{{}}:{{alertname="Bench", group="{group}"}}',
            "status": "firing",
            "receiver": "oncall",
            "groupLabels": {"alertname": "Bench"},
            "commonLabels": {"alertname": "Bench", "severity": "critical"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "truncatedAlerts": 0,
            "alerts": [
                {
                    "status": "firing",
                    "labels": {
                        "alertname": "Bench",
                        "severity": "critical",
                        "instance": f"host-{group[:8]}-{n}",
                    },
                    "annotations": {"summary": f"Bench alert {group[:8]}-{n}"},
                    "startsAt": "2026-11-20T03:14:07.123456789Z",
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prometheus:9090/graph",
                    "fingerprint": uuid.uuid4().hex[:16],
                }
                for n in range(alerts)
            ],
        }
    ).encode()


class Sender:
    """One keep-alive connection; reconnects after errors."""

    def __init__(self, port: int, path: str) -> None:
        self.port, self.path = port, path
        self.conn: http.client.HTTPConnection | None = None

    def post(self, body: bytes) -> int | str:
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.conn.request("POST", self.path, body, {"Content-Type": "application/json"})
                response = self.conn.getresponse()
                response.read()
                return response.status
            except (OSError, http.client.HTTPException) as exc:
                self.conn.close()
                self.conn = None
                if attempt:
                    return type(exc).__name__
        return "unreachable"


def saturate(port: int, path: str, seconds: float, concurrency: int, per_msg: int) -> Phase:
    phase = Phase()
    stop_at = time.monotonic() + seconds

    def worker() -> None:
        sender = Sender(port, path)
        while time.monotonic() < stop_at:
            body = message(per_msg)
            started = time.perf_counter()
            status = sender.post(body)
            phase.record(status, (time.perf_counter() - started) * 1000, per_msg)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return phase


def fixed_rate(
    port: int, path: str, seconds: float, rate: float, per_msg: int, threads: int = 32
) -> Phase:
    """Open loop: message i is due at start + i*per_msg/rate; latency from the due time."""
    phase = Phase()
    total = int(seconds * rate / per_msg)
    interval = per_msg / rate
    start = time.perf_counter() + 0.5
    bodies = [message(per_msg) for _ in range(total)]

    def worker(k: int) -> None:
        sender = Sender(port, path)
        for i in range(k, total, threads):
            due = start + i * interval
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            status = sender.post(bodies[i])
            phase.record(status, (time.perf_counter() - due) * 1000, per_msg)

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return phase


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


# --- (c) CPU per alert, end to end --------------------------------------------------

CPU_SETUP_SCRIPT = """
from django.contrib.auth import get_user_model
from oncall.people.models import ContactMethod, Engineer, NotificationRule, Team
from paging.models import EscalationPolicy, EscalationStep, EscalationTarget, Integration, Service
# The rate limit (in trees that have it) stays on, far above the load: its
# statement per request is part of what is measured.
LIMITED = any(f.name == "rate_limit_per_minute" for f in Integration._meta.fields)
UNLIMITED = {"rate_limit_per_minute": 1_000_000} if LIMITED else {}
team, _ = Team.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
user = get_user_model().objects.create(username="ada")
ada = Engineer.objects.create(user=user, display_name="Ada")
email = ContactMethod.objects.create(engineer=ada, kind="email", value="ada@example.test")
NotificationRule.objects.create(engineer=ada, contact_method=email, delay_minutes=0)
policy = EscalationPolicy.objects.create(name="bench")
step = EscalationStep.objects.create(policy=policy, position=0, delay_minutes=30)
EscalationTarget.objects.create(step=step, kind="engineer", engineer=ada)
service = Service.objects.create(name="bench-paged", team=team, escalation_policy=policy)
integration = Integration.objects.create(service=service, kind="alertmanager", **UNLIMITED)
print(service.pk)
print(integration.token)
"""


def cpu_setup(db_url: str) -> tuple[int, str]:
    """A service whose incidents page an engineer at once: (service id, token)."""
    env = server_env(db_url)
    subprocess.run(
        [PYTHON, "manage.py", "setup_periodic_tasks", "-v0"], cwd=ROOT, env=env, check=True
    )
    out = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", CPU_SETUP_SCRIPT],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    *_, service_id, token = out.stdout.strip().splitlines()
    return int(service_id), token


def _stat(pid: int | str) -> list[str] | None:
    """/proc/<pid>/stat fields after the command name (index 0 = state), None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _comm(pid: int | str) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def tree_cpu_seconds(root: int) -> float:
    """utime + stime of ``root`` and its live descendants, plus what ``root`` reaped."""
    tick = os.sysconf("SC_CLK_TCK")
    total, stack, first = 0, [root], True
    while stack:
        pid = stack.pop()
        fields = _stat(pid)
        if fields is None:
            continue
        total += int(fields[11]) + int(fields[12])
        if first:  # children that exited and were waited for (gunicorn, celery pools)
            total += int(fields[13]) + int(fields[14])
            first = False
        for task in Path(f"/proc/{pid}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                stack.extend(int(c) for c in task.read_text().split())
    return total / tick


def postgres_cpu_seconds() -> float:
    """Every process named postgres, plus the postmaster's reaped children (backends)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or _comm(entry.name) != "postgres":
            continue
        fields = _stat(entry.name)
        if fields is None:
            continue
        total += int(fields[11]) + int(fields[12])
        if _comm(fields[1]) != "postgres":  # the postmaster: backends that have exited
            total += int(fields[13]) + int(fields[14])
    return total / tick


OWN_PG = "PostgreSQL, this database's backends"


def _process_cpu_seconds(pid: int) -> float | None:
    fields = _stat(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class TopologyMeter:
    """CPU seconds of named process trees and of PostgreSQL, between two samples.

    "PostgreSQL" is every postgres process of the (shared) server; with ``db_url`` the
    sample also has ``OWN_PG``: the backends connected to that database only (the
    servers' pooled connections), summed as they were last seen, so other sessions'
    work on the same server is left out (a backend's CPU after its last sample before
    it exits is lost: pools keep their connections for the run).
    """

    def __init__(self, groups: dict[str, list[int]], db_url: str = "") -> None:
        self.groups = groups
        self.db_url = db_url
        self._backends: dict[int, float] = {}
        self._own = 0.0

    def _own_backends(self) -> float:
        import psycopg

        with psycopg.connect(self.db_url, autocommit=True) as conn:
            pids = [
                int(row[0])
                for row in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid()"
                )
            ]
        for pid in pids:
            now = _process_cpu_seconds(pid)
            if now is not None:
                self._own += now - self._backends.get(pid, 0.0)
                self._backends[pid] = now
        return self._own

    def sample(self) -> dict[str, float]:
        out = {name: sum(tree_cpu_seconds(p) for p in pids) for name, pids in self.groups.items()}
        out["PostgreSQL"] = postgres_cpu_seconds()
        if self.db_url:
            out[OWN_PG] = self._own_backends()
        return out


def wait_http(port: int, proc: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"the server on port {port} did not answer within {seconds:.0f} s")


def topology_start(
    name: str,
    db_url: str,
    port: int,
    broker: str,
    root: Path = ROOT,
    env_extra: dict[str, str] | None = None,
) -> tuple[list[subprocess.Popen], dict[str, list[int]]]:
    """Start a topology (from the code in ``root``): its processes and the groups its CPU
    is reported in."""
    env = server_env(db_url, root)
    env.update(env_extra or {})
    if name == "embedded":
        proc = subprocess.Popen(
            [PYTHON, "manage.py", "oncall_run", f"127.0.0.1:{port}"],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        wait_http(port, proc)
        return [proc], {"web + engine thread (oncall_run)": [proc.pid]}
    env["CELERY_BROKER_URL"] = broker
    bin_dir = Path(PYTHON).parent
    web = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "oncall.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(env_int("BENCH_WORKERS", 2)), "--worker-class", "gthread",
         "--threads", str(env_int("BENCH_THREADS", 4)), "--log-level", "warning"],
        cwd=root, env=env,
    )  # fmt: skip
    worker = subprocess.Popen(
        [str(bin_dir / "celery"), "-A", "oncall", "worker", "-l", "error", "-c",
         str(env_int("BENCH_CELERY_CONCURRENCY", 2)), "--without-gossip", "--without-mingle"],
        cwd=root, env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    beat = subprocess.Popen(
        [str(bin_dir / "celery"), "-A", "oncall", "beat", "-l", "error",
         "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"],
        cwd=root, env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    procs = [web, worker, beat]
    wait_http(port, web)
    time.sleep(3)  # the worker connects to the broker before the first kick
    return procs, {
        "web (gunicorn)": [web.pid],
        "workers (celery worker + beat)": [worker.pid, beat.pid],
    }


def topology_stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def paged_progress(db_url: str, service_id: int) -> tuple[int, int]:
    """(incidents of the service, of which with a sent page)."""
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM paging_message m"
            " WHERE m.incident_id = i.id AND m.status = 'sent'))"
            " FROM paging_incident i WHERE i.service_id = %s",
            (service_id,),
        ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def incidents_clear(db_url: str) -> None:
    """Start each measured run from an empty incident table (no engine backlog)."""
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("TRUNCATE paging_incident CASCADE")


def cpu_run(
    db_url: str, port: int, path: str, service_id: int, per_msg: int, meter: TopologyMeter
) -> dict[str, float]:
    """Prints the run; returns CPU ms per alert by group, "total" and "net"."""
    alerts = env_int("BENCH_CPU_ALERTS", 1000)
    rate = env_int("BENCH_CPU_RATE", 50)
    incidents_clear(db_url)
    fixed_rate(port, path, 2, rate, per_msg, threads=4)  # warm-up: pools, caches, SQL
    _wait_paged(db_url, service_id, 60)
    incidents_clear(db_url)
    idle_seconds = 5.0
    before = meter.sample()
    time.sleep(idle_seconds)
    idle = {k: v - before[k] for k, v in meter.sample().items()}
    start, started = meter.sample(), time.perf_counter()
    phase = fixed_rate(port, path, alerts / rate, rate, per_msg, threads=8)
    done, paged = _wait_paged(db_url, service_id, 120)
    elapsed = time.perf_counter() - started
    end = meter.sample()
    count = max(phase.alerts, 1)
    used = {k: (end[k] - start[k]) * 1000 / count for k in end}
    background = {k: idle[k] / idle_seconds * elapsed * 1000 / count for k in idle}
    own_pg = used.pop(OWN_PG, None)
    background.pop(OWN_PG, None)
    total = sum(used.values())
    parts = ", ".join(f"{k} {v:.2f}" for k, v in used.items())
    idle_total = sum(background.values())
    own: dict[str, float] = {}
    if own_pg is not None:
        # Web + workers + only this database's PostgreSQL backends: what the alerts cost
        # whatever else the shared server is doing.
        own = {"own_pg": own_pg, "own_total": total - used["PostgreSQL"] + own_pg}
        print(
            f"    {per_msg} alert(s)/request, PostgreSQL counted as this database's backends"
            f" only: {own['own_total']:.2f} ms CPU per alert (PostgreSQL {own_pg:.2f})"
        )
    # Net: what the alerts added over the idle rate (other sessions on the shared
    # PostgreSQL, the engine's idle ticks). Noisy when the alerts' share is small.
    print(
        f"    {per_msg} alert(s)/request: {total:.2f} ms CPU per alert ({parts}); "
        f"idle background over the same time {idle_total:.2f} ms/alert "
        f"(PostgreSQL {background['PostgreSQL']:.2f}); net {total - idle_total:.2f} ms/alert"
        f" (PostgreSQL {used['PostgreSQL'] - background['PostgreSQL']:.2f}); "
        f"{phase.alerts} alerts in "
        f"{phase.accepted} requests (errors {phase.errors or 'none'}), {done} incidents, "
        f"{paged} paged, {elapsed:.1f} s; load average {os.getloadavg()[0]:.1f}"
    )
    return {**used, **own, "total": total, "net": total - idle_total}


def _wait_paged(db_url: str, service_id: int, seconds: float) -> tuple[int, int]:
    deadline = time.monotonic() + seconds
    done, paged = paged_progress(db_url, service_id)
    while paged < done and time.monotonic() < deadline:
        time.sleep(0.25)
        done, paged = paged_progress(db_url, service_id)
    return done, paged


def cpu_phase(db_url: str, port: int) -> None:
    service_id, token = cpu_setup(db_url)
    path = f"/integrations/alertmanager/{token}/"
    broker = os.environ.get("BENCH_BROKER", "")
    pool = os.environ.get("DATABASE_POOL", "true")
    for name in os.environ.get("BENCH_CPU_TOPOLOGIES", "embedded,production").split(","):
        if name == "production" and not broker:
            print("(c) production topology skipped: set BENCH_BROKER=redis://…")
            continue
        print(
            f"(c) CPU per alert, {name} topology (DATABASE_POOL={pool}), end to end"
            " (ingest, escalation, page sent); load average "
            f"{os.getloadavg()[0]:.1f}:"
        )
        procs, groups = topology_start(name, db_url, port, broker)
        try:
            meter = TopologyMeter(groups, db_url)
            for per_msg in (1, 50):
                cpu_run(db_url, port, path, service_id, per_msg, meter)
        finally:
            topology_stop(procs)


def main() -> None:
    phases = os.environ.get("BENCH_PHASES", "throughput,cpu").split(",")
    workers = env_int("BENCH_WORKERS", 2)
    threads = env_int("BENCH_THREADS", 4)
    seconds = env_int("BENCH_SECONDS", 20)
    concurrency = env_int("BENCH_CONCURRENCY", 16)
    rate = env_int("BENCH_RATE", 200)
    per_msg = env_int("BENCH_ALERTS_PER_MESSAGE", 1)
    port = env_int("BENCH_PORT", 8765)
    worker_class = os.environ.get("BENCH_WORKER_CLASS", "gthread")

    db_url = bench_database_url()
    print(f"database: {urlparse(db_url).path.lstrip('/')} (recreated and migrated)")
    database_recreate(db_url)
    token, queries = setup(db_url)
    print(f"queries per new alert (BEGIN and COMMIT included): {queries}")
    print(f"DATABASE_POOL={os.environ.get('DATABASE_POOL', 'true')}")
    if "throughput" in phases:
        path = f"/integrations/alertmanager/{token}/"
        throughput_phases(db_url, path, port, workers, threads, worker_class, seconds,
                          concurrency, rate, per_msg)  # fmt: skip
    if "cpu" in phases:
        cpu_phase(db_url, port)


def throughput_phases(
    db_url: str,
    path: str,
    port: int,
    workers: int,
    threads: int,
    worker_class: str,
    seconds: int,
    concurrency: int,
    rate: int,
    per_msg: int,
) -> None:
    print(f"gunicorn: {workers} {worker_class} workers x {threads} threads on 127.0.0.1:{port}")
    server = gunicorn_start(db_url, port, workers, threads, worker_class)
    try:
        saturate(port, path, 3, concurrency, per_msg)  # warm-up: connections, caches
        print(f"load average before the measured phases: {os.getloadavg()[0]:.1f}")
        meter = CpuMeter(server.pid)
        sat = saturate(port, path, seconds, concurrency, per_msg)
        cpu = meter.per_alert_ms(sat.alerts)
        throughput = sat.alerts / seconds
        print(
            f"(a) saturation, {concurrency} connections, {per_msg} alert(s)/message, "
            f"{seconds}s: {throughput:.0f} accepted alerts/s "
            f"({sat.accepted} messages 202, errors {sat.errors or 'none'}); "
            f"latency p50 {percentile(sat.latencies_ms, 50):.1f} ms, "
            f"p99 {percentile(sat.latencies_ms, 99):.1f} ms"
        )
        server_ms = cpu["gunicorn"] + cpu["postgres"]
        print(
            f"    CPU per accepted alert: gunicorn {cpu['gunicorn']:.2f} ms, PostgreSQL "
            f"{cpu['postgres']:.2f} ms, load client {cpu['client']:.2f} ms -> server-side "
            f"capacity of 2 otherwise idle cores ~ {2000 / server_ms:.0f} alerts/s; "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        time.sleep(2)
        started = time.perf_counter()
        fix = fixed_rate(port, path, seconds, rate, per_msg)
        achieved = fix.alerts / (time.perf_counter() - started)
        lat = fix.latencies_ms
        print(
            f"(b) fixed rate {rate} alerts/s, {seconds}s ({fix.sent} messages, "
            f"{fix.accepted} accepted, errors {fix.errors or 'none'}, achieved "
            f"{achieved:.0f} alerts/s): "
            f"p50 {percentile(lat, 50):.1f} ms, p90 {percentile(lat, 90):.1f} ms, "
            f"p99 {percentile(lat, 99):.1f} ms, max {max(lat):.1f} ms, "
            f"mean {statistics.fmean(lat):.1f} ms"
        )
        print(
            "targets: >= 400 alerts/s -> "
            + ("met" if throughput >= 400 else "NOT met")
            + "; p99 <= 100 ms at 200/s -> "
            + ("met" if percentile(lat, 99) <= 100 else "NOT met")
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
