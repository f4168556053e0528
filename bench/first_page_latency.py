"""Time to first page: from the webhook's 202 to the channel's send, with a real worker + beat.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oncall \
    BENCH_BROKER=redis://127.0.0.1:6379/14 python -m bench first_page_latency

Knobs: BENCH_ALERTS (200), BENCH_RATE (alerts/s, 5), BENCH_PORT (8766),
BENCH_CELERY_CONCURRENCY (2).

1. creates (drops first) the database ``<name>_firstpage`` and migrates it;
2. one engineer whose high-urgency rule e-mails at once (e-mail has no throttle, so
   every alert's page is a page, not a bundle), a one-step policy, a service and a
   generic-webhook integration;
3. starts gunicorn (production mode: CELERY_BROKER_URL set), a celery worker and celery
   beat (DatabaseScheduler, the engine tick every ENGINE_TICK_SECONDS);
4. posts BENCH_ALERTS webhooks with new dedup keys at BENCH_RATE per second; notes the
   wall-clock time each 202 arrived; waits for every page; latency = the page's
   ``sent_at`` (written right after the console channel's send returns) minus the 202.
The path measured: commit -> kick (on_commit -> broker) -> worker tick -> escalation
step -> outbox row -> dispatch -> channel.send.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _db_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("set DATABASE_URL=postgres://…: this benchmark runs against PostgreSQL")
    parts = urlparse(url)
    name = parts.path.lstrip("/") or "oncall"
    return urlunparse(parts._replace(path=f"/{name}_firstpage"))


def _db_recreate(url: str) -> None:
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = urlunparse(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _setup(env: dict[str, str]) -> str:
    """Migrate and create the cast in the bench database; returns the webhook path."""
    script = """
import django
django.setup()
from django.core.management import call_command
from django.contrib.auth import get_user_model
from oncall.people.models import ContactMethod, Engineer, NotificationRule, Team
from paging.models import EscalationPolicy, EscalationStep, EscalationTarget, Integration, Service
# The rate limit (in trees that have it) stays on, far above the load: its
# statement per request is part of what is measured.
LIMITED = any(f.name == "rate_limit_per_minute" for f in Integration._meta.fields)
UNLIMITED = {"rate_limit_per_minute": 1_000_000} if LIMITED else {}
call_command("migrate", verbosity=0)
call_command("setup_periodic_tasks", verbosity=0)
team = Team.objects.create(name="bench", slug="bench")
user = get_user_model().objects.create(username="ada")
ada = Engineer.objects.create(user=user, display_name="Ada")
email = ContactMethod.objects.create(engineer=ada, kind="email", value="ada@example.test")
NotificationRule.objects.create(engineer=ada, contact_method=email, delay_minutes=0)
policy = EscalationPolicy.objects.create(name="bench")
step = EscalationStep.objects.create(policy=policy, position=0, delay_minutes=30)
EscalationTarget.objects.create(step=step, kind="engineer", engineer=ada)
service = Service.objects.create(name="bench", team=team, escalation_policy=policy)
integration = Integration.objects.create(
    service=service, kind="webhook", name="bench", **UNLIMITED
)
print(integration.inbound_path)
"""
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, check=True, capture_output=True
    )
    return out.stdout.decode().strip().splitlines()[-1]


def _sent_at(env: dict[str, str]) -> dict[str, float]:
    """dedup key -> page sent_at (epoch seconds), read from the bench database."""
    import psycopg

    url = env["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT i.dedup_key, m.sent_at FROM paging_message m"
            " JOIN paging_incident i ON i.id = m.incident_id WHERE m.status = 'sent'"
        ).fetchall()
    return {key: sent.timestamp() for key, sent in rows}


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    url = _db_url()
    alerts = int(os.environ.get("BENCH_ALERTS", "200"))
    rate = float(os.environ.get("BENCH_RATE", "5"))
    port = int(os.environ.get("BENCH_PORT", "8766"))
    broker = os.environ.get("BENCH_BROKER", "redis://127.0.0.1:6379/14")
    _db_recreate(url)
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="oncall.settings",
        SECRET_KEY=env.get("SECRET_KEY") or "bench-only",
        DATABASE_URL=url,
        CELERY_BROKER_URL=broker,
        PYTHONPATH=str(ROOT),
        LOG_LEVEL="WARNING",
    )
    path = _setup(env)
    procs = [
        subprocess.Popen(
            [str(BIN / "gunicorn"), "oncall.wsgi:application", "-b", f"127.0.0.1:{port}",
             "-w", "2", "-k", "gthread", "--threads", "4", "--log-level", "warning"],
            env=env, cwd=ROOT,
        ),
        subprocess.Popen(
            [str(BIN / "celery"), "-A", "oncall", "worker", "-l", "warning", "-c",
             os.environ.get("BENCH_CELERY_CONCURRENCY", "2"), "--without-gossip",
             "--without-mingle"],
            env=env, cwd=ROOT,
        ),
        subprocess.Popen(
            [str(BIN / "celery"), "-A", "oncall", "beat", "-l", "warning", "--scheduler",
             "django_celery_beat.schedulers:DatabaseScheduler"],
            env=env, cwd=ROOT,
        ),
    ]  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit("gunicorn did not start")
                time.sleep(0.2)
        time.sleep(3)  # let the worker connect to the broker before the first kick
        accepted: dict[str, float] = {}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        started = time.monotonic()
        for n in range(alerts):
            time.sleep(max(0.0, started + n / rate - time.monotonic()))
            key = uuid.uuid4().hex
            body = json.dumps({"title": f"bench {n}", "dedup_key": key, "severity": "critical"})
            conn.request("POST", path, body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            if response.status == 202:
                accepted[key] = time.time()
        wait_until = time.monotonic() + 60
        sent: dict[str, float] = {}
        while time.monotonic() < wait_until:
            sent = _sent_at(env)
            if len(sent) >= len(accepted):
                break
            time.sleep(0.5)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    latencies = [(sent[k] - t) * 1000 for k, t in accepted.items() if k in sent]
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average {os.getloadavg()[0]:.1f}")
    print(f"alerts posted: {alerts} at {rate}/s; 202s: {len(accepted)}; pages sent: {len(sent)}")
    if latencies:
        print(
            f"time to first page (202 -> send): p50 {statistics.median(latencies):.0f} ms,"
            f" p90 {_percentile(latencies, 90):.0f} ms, p99 {_percentile(latencies, 99):.0f} ms,"
            f" max {max(latencies):.0f} ms"
        )
    missing = len(accepted) - len(latencies)
    if missing:
        print(f"MISSING: {missing} accepted alerts without a page after 60 s")


if __name__ == "__main__":
    main()
