"""Cost per alert in production (gunicorn + celery worker + beat + PostgreSQL + Redis),
this tree against a baseline, in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oncall \\
    BENCH_BROKER=redis://127.0.0.1:6379/9 python -m bench cost_per_alert

The baseline (BENCH_BASELINE):
- a git ref (default: the merge base of HEAD and ``main``): its tree is exported with
  ``git archive`` into a temporary directory and the servers run from there, so the
  baseline is the code as it was (one kick and one full tick per alert, per-alert
  ingest, full empty ticks);
- ``coalesce-off``: this tree with ``ENGINE_KICK_COALESCE=false`` (one kick per commit);
- ``none``: this tree only.
Variants alternate for BENCH_ROUNDS rounds (1), each on a fresh topology and empty
incident tables. Per variant it prints, with the load average of each figure:
1. SQL statements per Alertmanager message of 1 and of 50 new alerts, through the whole
   request (``CaptureQueriesContext`` in a Django test client, the integration cached);
2. CPU ms per alert end to end (ingest, escalation, page sent; web + workers + all
   PostgreSQL processes, from /proc; "net" subtracts the idle CPU of the same processes
   over an equal period just before) at 1 and 50 alerts per request,
   BENCH_CPU_ALERTS (1000) at BENCH_CPU_RATE (50) alerts/s
   (``ingest_alertmanager.cpu_run``); and the same with PostgreSQL counted as the
   backends connected to the bench database only (other sessions' work on a shared
   server left out);
3. HTTP latency p50/p99 at fixed rates (open loop: from each request's scheduled time):
   20 alerts/s in 1-alert messages and 150 alerts/s in 50-alert messages, for
   BENCH_RATE_SECONDS (20);
4. first page p50/p99: BENCH_FIRST_PAGE_ALERTS (60) 1-alert messages at 2/s, from the
   202 to the page's ``sent_at`` (e-mail, console channel);
5. alerts written per second (HTTP 202 = committed) at saturation, BENCH_CONCURRENCY (16)
   connections for BENCH_SAT_SECONDS (10), at 1 and 50 alerts per request (last: the
   engine's backlog after it would distort the phases above).
Targets (issue 15, 2-core machine): CPU <= 8 ms/alert at 1/request, <= 1 ms at
50/request; >= 2,000 alerts/s written at 50/request; first page p50 <= 50 ms and p99 <=
100 ms; HTTP p99 <= 50 ms at 150 alerts/s in 50-alert messages. Other work on the machine
moves the latency figures most; CPU per alert least.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.ingest_alertmanager import (
    PYTHON,
    ROOT,
    Sender,
    TopologyMeter,
    bench_database_url,
    cpu_run,
    cpu_setup,
    database_recreate,
    env_int,
    fixed_rate,
    incidents_clear,
    message,
    percentile,
    saturate,
    server_env,
    topology_start,
    topology_stop,
)

STATEMENTS_SCRIPT = """
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from bench.ingest_alertmanager import message
from paging.models import Incident
import os
url = f"/integrations/alertmanager/{os.environ['BENCH_TOKEN']}/"
client = Client(HTTP_HOST="localhost")
client.post(url, message(1), content_type="application/json")  # the integration cached
for alerts in (1, 50):
    with CaptureQueriesContext(connection) as queries:
        status = client.post(url, message(alerts), content_type="application/json").status_code
    assert status == 202, status
    print(f"statements {alerts} {len(queries.captured_queries)}")
Incident.objects.all().delete()
"""


@dataclass
class Variant:
    name: str
    root: Path
    env: dict[str, str] = field(default_factory=dict)


def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def baseline_variant(tmp: Path) -> Variant | None:
    spec = os.environ.get("BENCH_BASELINE", "")
    if spec == "none":
        return None
    if spec == "coalesce-off":
        off = {"ENGINE_KICK_COALESCE": "false"}
        return Variant("baseline: ENGINE_KICK_COALESCE=false", ROOT, off)
    ref = (
        spec
        or subprocess.run(
            ["git", "merge-base", "HEAD", "main"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    tree = tmp / "baseline"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return Variant(f"baseline: {ref[:12]}", tree)


def statements(db_url: str, variant: Variant, token: str) -> dict[int, int]:
    env = server_env(db_url, variant.root)
    env.update(variant.env, BENCH_TOKEN=token)
    out = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", STATEMENTS_SCRIPT],
        cwd=variant.root,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found = {}
    for line in out.splitlines():
        if line.startswith("statements "):
            _, alerts, count = line.split()
            found[int(alerts)] = int(count)
    return found


def first_page(db_url: str, port: int, path: str, alerts: int, rate: float) -> list[float]:
    """Latencies (ms) from each 202 to its page's sent_at."""
    import psycopg

    accepted: dict[str, float] = {}
    sender = Sender(port, path)
    started = time.monotonic()
    for n in range(alerts):
        time.sleep(max(0.0, started + n / rate - time.monotonic()))
        group = uuid.uuid4().hex
        if sender.post(message(1, group)) == 202:
            accepted[group] = time.time()
    sent: dict[str, float] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with psycopg.connect(db_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT i.dedup_key, m.sent_at FROM paging_message m"
                " JOIN paging_incident i ON i.id = m.incident_id WHERE m.status = 'sent'"
            ).fetchall()
        sent = {key.split('group="')[1][:32]: at.timestamp() for key, at in rows}
        if all(group in sent for group in accepted):
            break
        time.sleep(0.5)
    return [(sent[g] - t) * 1000 for g, t in accepted.items() if g in sent]


def variant_run(
    db_url: str, port: int, broker: str, variant: Variant, service: tuple[int, str]
) -> dict[str, float]:
    figures: dict[str, float] = {}
    print(f"-- {variant.name} ({variant.root})")
    service_id, token = service
    counted = statements(db_url, variant, token)
    print(
        f"   SQL statements per request: 1 new alert {counted.get(1)}, 50 new alerts "
        f"{counted.get(50)} (BEGIN/COMMIT included)"
    )
    path = f"/integrations/alertmanager/{token}/"
    procs, groups = topology_start("production", db_url, port, broker, variant.root, variant.env)
    try:
        meter = TopologyMeter(groups, db_url)
        print(f"   CPU per alert, end to end ({_load()} at the start):")
        for per_msg in (1, 50):
            used = cpu_run(db_url, port, path, service_id, per_msg, meter)
            figures[f"cpu_{per_msg}"], figures[f"cpu_net_{per_msg}"] = used["total"], used["net"]
            figures[f"cpu_own_{per_msg}"] = used["own_total"]
            for group in ("web (gunicorn)", "workers (celery worker + beat)"):
                figures[f"{group}_{per_msg}"] = used[group]
            figures[f"pg_own_{per_msg}"] = used["own_pg"]
        rate_seconds = env_int("BENCH_RATE_SECONDS", 20)
        for rate, per_msg in ((20, 1), (150, 50)):
            incidents_clear(db_url)
            time.sleep(3)  # the engine settles after the phase before
            phase = fixed_rate(port, path, rate_seconds, rate, per_msg, threads=8)
            lat = phase.latencies_ms
            figures[f"http_p50_{rate}"] = percentile(lat, 50)
            figures[f"http_p99_{rate}"] = percentile(lat, 99)
            print(
                f"   HTTP at {rate} alerts/s in {per_msg}-alert messages ({phase.sent} "
                f"requests, errors {phase.errors or 'none'}): p50 {percentile(lat, 50):.1f} "
                f"ms, p99 {percentile(lat, 99):.1f} ms, max {max(lat):.1f} ms; {_load()}"
            )
        incidents_clear(db_url)
        time.sleep(3)
        alerts = env_int("BENCH_FIRST_PAGE_ALERTS", 60)
        latencies = first_page(db_url, port, path, alerts, 2.0)
        if latencies:
            figures["page_p50"] = percentile(latencies, 50)
            figures["page_p99"] = percentile(latencies, 99)
            print(
                f"   first page at 2 alerts/s ({len(latencies)} of {alerts} paged): p50 "
                f"{percentile(latencies, 50):.0f} ms, p99 {percentile(latencies, 99):.0f} ms,"
                f" max {max(latencies):.0f} ms; {_load()}"
            )
        else:
            print("   first page: NO page sent")
        # Last: its backlog (thousands of incidents to page) would slow the phases after it.
        seconds = env_int("BENCH_SAT_SECONDS", 10)
        concurrency = env_int("BENCH_CONCURRENCY", 16)
        for per_msg in (1, 50):
            incidents_clear(db_url)
            sat = saturate(port, path, seconds, concurrency, per_msg)
            figures[f"written_{per_msg}"] = sat.alerts / seconds
            print(
                f"   written at saturation, {per_msg} alert(s)/request, {concurrency} "
                f"connections: {sat.alerts / seconds:.0f} alerts/s (errors "
                f"{sat.errors or 'none'}); {_load()}"
            )
    finally:
        topology_stop(procs)
    return figures


def main() -> None:
    broker = os.environ.get("BENCH_BROKER", "")
    if not broker:
        sys.exit("set BENCH_BROKER=redis://…: the production topology needs a broker")
    port = env_int("BENCH_PORT", 8765)
    rounds = env_int("BENCH_ROUNDS", 1)
    db_url = bench_database_url()
    print(f"database: {db_url.rsplit('/', 1)[-1]} (recreated and migrated)")
    database_recreate(db_url)
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=server_env(db_url), check=True
    )
    service = cpu_setup(db_url)  # one engineer paged by e-mail at once, for every variant
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        baseline = baseline_variant(Path(tmp))
        variants = [Variant("this tree", ROOT), *([baseline] if baseline else [])]
        results: dict[str, list[dict[str, float]]] = {v.name: [] for v in variants}
        for n in range(rounds):
            print(f"== round {n + 1} of {rounds}")
            for variant in variants if n % 2 == 0 else variants[::-1]:
                results[variant.name].append(variant_run(db_url, port, broker, variant, service))
    summary(results)


TARGETS = {
    "cpu_1": ("CPU ms/alert, 1/request (all PostgreSQL processes)", "<=", 8),
    "cpu_own_1": ("CPU ms/alert, 1/request (this database's backends)", "<=", 8),
    "web (gunicorn)_1": ("  web", "", None),
    "workers (celery worker + beat)_1": ("  workers", "", None),
    "pg_own_1": ("  PostgreSQL, this database's backends", "", None),
    "cpu_50": ("CPU ms/alert, 50/request (all PostgreSQL processes)", "<=", 1),
    "cpu_own_50": ("CPU ms/alert, 50/request (this database's backends)", "<=", 1),
    "web (gunicorn)_50": ("  web", "", None),
    "workers (celery worker + beat)_50": ("  workers", "", None),
    "pg_own_50": ("  PostgreSQL, this database's backends", "", None),
    "written_1": ("alerts/s written, 1/request", ">=", None),
    "written_50": ("alerts/s written, 50/request", ">=", 2000),
    "http_p50_20": ("HTTP p50 ms at 20/s (1/request)", "<=", None),
    "http_p99_20": ("HTTP p99 ms at 20/s (1/request)", "<=", None),
    "http_p50_150": ("HTTP p50 ms at 150/s (50/request)", "<=", None),
    "http_p99_150": ("HTTP p99 ms at 150/s (50/request)", "<=", 50),
    "page_p50": ("first page p50 ms at 2/s", "<=", 50),
    "page_p99": ("first page p99 ms at 2/s", "<=", 100),
}


def summary(results: dict[str, list[dict[str, float]]]) -> None:
    """The median over rounds of each figure, per variant, with its target."""
    names = list(results)
    print("== summary (median over rounds)")
    print("| figure | " + " | ".join(names) + " | target |")
    print("| --- | " + " | ".join("---" for _ in names) + " | --- |")
    for key, (label, op, target) in TARGETS.items():
        cells = []
        for name in names:
            values = [r[key] for r in results[name] if key in r]
            cells.append(f"{statistics.median(values):.2f}" if values else "-")
        goal = f"{op} {target}" if target is not None else ""
        print(f"| {label} | " + " | ".join(cells) + f" | {goal} |")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
