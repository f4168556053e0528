"""`manage.py oncall_run`: waitress and the engine thread in one process, started for real.

Each test starts the command as a subprocess (the real settings, the real server) and
talks HTTP to it. On PostgreSQL (test 8(g) of issue 9) 300 Alertmanager deliveries
arrive at once: every one is accepted, the server's connections to the database never
exceed its pool, and the API answers right after.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from oncall.management.commands.oncall_run import parse_addrport
from paging.models import Alert, Incident, Integration
from tests.factories import UserFactory
from tests.paging.inbound.conftest import integration_make
from tests.paging.inbound.samples import alertmanager_message, am_alert

ROOT = Path(__file__).resolve().parents[2]
START_DEADLINE_SECONDS = 90


def test_addrport_forms() -> None:
    assert parse_addrport("127.0.0.1:8000") == ("127.0.0.1", 8000)
    assert parse_addrport("0.0.0.0:9000") == ("0.0.0.0", 9000)
    assert parse_addrport("[::1]:8001") == ("::1", 8001)
    assert parse_addrport("8002") == ("127.0.0.1", 8002)
    with pytest.raises(Exception, match="is not HOST:PORT"):
        parse_addrport("localhost:http")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(
    port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body, headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise


def _start(database_url: str, log: Path, *args: str, **extra_env: str) -> Server:
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE", "DEBUG", "PUBLIC_BASE_URL")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="oncall.settings",
        DATABASE_URL=database_url,
        SECRET_KEY="embedded-server-test-key",
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        HEALTHZ_TOKEN="embedded-healthz-token",
    )
    env.update(extra_env)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "oncall_run", f"127.0.0.1:{port}", *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(proc=proc, port=port, log=log)
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"oncall_run exited with {proc.returncode}:\n{server.output()}")
        try:
            status, _ = _request(port, "GET", "/healthz")
        except OSError:
            time.sleep(0.2)
            continue
        if status == 200:
            return server
        time.sleep(0.2)
    server.stop()
    pytest.fail(f"oncall_run did not answer /healthz 200 in time:\n{server.output()}")


def test_serves_the_app_and_static_files_with_the_engine_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    server = _start(f"sqlite:///{tmp_path / 'embedded.sqlite3'}", tmp_path / "server.log")
    try:
        status, body = _request(
            server.port,
            "GET",
            "/healthz",
            headers={"Authorization": "Bearer embedded-healthz-token"},
        )
        health = json.loads(body)
        assert status == 200
        assert health["mode"] == "embedded"
        assert health["engine"]["ok"] is True  # the engine thread has ticked
        status, css = _request(server.port, "GET", "/static/admin/css/base.css")
        assert status == 200 and b"{" in css  # WhiteNoise, no collectstatic step
        status, _ = _request(server.port, "GET", "/api/v1/incidents/")
        assert status == 401
    finally:
        code = server.stop()
    output = server.output()
    assert code == 0, output
    assert "(waitress, " in output
    assert "Paging engine: running in this process" in output
    assert output.rstrip().endswith("Stopped.")
    assert "Traceback" not in output


def test_demo_try_it_pages_the_console_through_the_printed_curl(tmp_path: Path) -> None:
    """README "Try it": the printed curl line, as pasted, pages the demo's on-call engineer."""
    server = _start(
        f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        tmp_path / "server.log",
        "--demo",
        VAR_DIR=str(tmp_path),
        LOG_LEVEL="INFO",
    )
    try:
        curl = next(
            line.strip()
            for line in server.output().splitlines()
            if line.strip().startswith("curl ")
        )
        # The URL names the port actually served (no PUBLIC_BASE_URL set), not 8000.
        assert f"http://127.0.0.1:{server.port}/integrations/alertmanager/" in curl
        pasted = subprocess.run(
            ["bash", "-c", curl + " -o /dev/null -w '%{http_code}'"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert pasted.stdout == "202", pasted
        deadline = time.monotonic() + 20
        while (
            "worker-3 has been NotReady" not in _console_pages(server)
            and time.monotonic() < deadline
        ):
            time.sleep(0.2)
    finally:
        server.stop()
    output = server.output()
    assert "worker-3 has been NotReady" in _console_pages(server), output
    password = (tmp_path / "demo_admin_password").read_text().strip()
    assert f"user: admin  password: {password}" in output


def _console_pages(server: Server) -> str:
    return "\n".join(line for line in server.output().splitlines() if "[console" in line)


# --- PostgreSQL: 300 concurrent deliveries (issue 9, test 8(g)) -------------------------

DELIVERIES = 300
ALERTS = 100  # each alert delivered DELIVERIES // ALERTS times, all at once
POOL_MAX = 8
WEB_THREADS = 4


class ConnectionWatch:
    """Samples the server's connections to its database (pg_stat_activity) in a thread."""

    def __init__(self, dsn: str, application_name: str) -> None:
        self.dsn, self.application_name = dsn, application_name
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def count(self, conn: psycopg.Connection) -> int:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            (self.application_name,),
        ).fetchone()
        return int(row[0]) if row else 0

    def _run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self._stop.is_set():
                self.samples.append(self.count(conn))
                self._stop.wait(0.02)

    def __enter__(self) -> ConnectionWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def _database_url() -> str:
    s = connection.settings_dict
    user = s.get("USER") or "postgres"
    auth = f"{user}:{s['PASSWORD']}" if s.get("PASSWORD") else user
    return f"postgres://{auth}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


@pytest.fixture(params=["pool", "connect-per-request"])
def pg_server(request, transactional_db, tmp_path: Path) -> Iterator[tuple[Server, str]]:
    # The server's connections carry their own application name (libpq reads
    # PGAPPNAME): only they are counted, not this test's.
    application_name = f"oncall-8g-{uuid.uuid4().hex[:8]}"
    server = _start(
        _database_url(),
        tmp_path / "server.log",
        PGAPPNAME=application_name,
        DATABASE_POOL="true" if request.param == "pool" else "false",
        DATABASE_POOL_MIN_SIZE="2",
        DATABASE_POOL_MAX_SIZE=str(POOL_MAX),
        EMBEDDED_THREADS=str(WEB_THREADS),
    )
    try:
        yield server, application_name
    finally:
        # Stopped before the test database is flushed (and later dropped).
        code = server.stop()
    assert code == 0, server.output()


@pytest.mark.postgres
def test_300_concurrent_deliveries_all_accepted_within_the_pool(pg_server) -> None:
    server, application_name = pg_server
    # 300 deliveries at once: the rate limit is not what this measures.
    integration = integration_make(Integration.Kind.ALERTMANAGER, rate_limit_per_minute=0)
    staff = UserFactory(username="boss", is_staff=True)
    token = Token.objects.create(user=staff).key
    path = f"/integrations/alertmanager/{integration.token}/"
    bodies = [
        json.dumps(
            alertmanager_message([am_alert(f"{n % ALERTS:016x}")], group_key=f"g{n % ALERTS}")
        ).encode()
        for n in range(DELIVERIES)
    ]
    barrier = threading.Barrier(DELIVERIES)
    statuses: list[int | str] = [0] * DELIVERIES

    def post(n: int) -> None:
        barrier.wait()
        try:
            statuses[n], _ = _request(
                server.port, "POST", path, bodies[n], {"Content-Type": "application/json"}
            )
        except OSError as exc:
            statuses[n] = type(exc).__name__

    dsn = _database_url()
    started = time.monotonic()
    with ConnectionWatch(dsn, application_name) as watch:
        threads = [threading.Thread(target=post, args=(n,)) for n in range(DELIVERIES)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        elapsed = time.monotonic() - started
        status, body = _request(
            server.port, "GET", "/api/v1/incidents/", headers={"Authorization": f"Token {token}"}
        )
        time.sleep(0.5)  # a few samples after the burst (the engine keeps ticking)
    print(
        f"{DELIVERIES} deliveries answered in {elapsed:.1f} s; server connections: peak"
        f" {max(watch.samples)} in {len(watch.samples)} samples (limit {POOL_MAX},"
        f" {WEB_THREADS} web threads + the engine thread)"
    )

    assert Counter(statuses) == {202: DELIVERIES}, Counter(statuses)
    assert status == 200, body[:500]
    assert json.loads(body)["count"] == ALERTS
    # With the pool: never more than its size. Without: one per busy thread, at most.
    assert 0 < max(watch.samples) <= POOL_MAX
    # Every accepted delivery is counted on its alert, racing ones included.
    assert Incident.objects.count() == ALERTS
    assert dict(Counter(Alert.objects.values_list("deliveries", flat=True))) == {
        DELIVERIES // ALERTS: ALERTS
    }
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert watch.count(conn) <= POOL_MAX  # after the burst, still within the pool
