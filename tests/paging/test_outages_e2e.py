"""Production topology under outages (issue 9, test 8(h)): gunicorn, a celery worker and
celery beat as separate processes, on the test database, with

- Redis (a private redis-server on a spare port) killed and restarted twice while pages
  are due and being sent: the worker stays alive, every inbound answer is 2xx (or 503),
  every due page reaches the provider exactly once after Redis is back;
- PostgreSQL unreachable for 10 s (a TCP proxy between the processes and PostgreSQL,
  cut and restored by the test) during a burst of inbound alerts: only 2xx and 503, every
  alert answered 2xx stored exactly once, and the engine resumes by itself.

The provider is the Twilio fake (tests/fakes/twilio.py) driven by the real client
library in the worker; it holds each answer back a little so that sends are in flight
when Redis goes away. The worker runs with celery's defaults (gossip, mingle, remote
control, prefetch = concurrency): the conditions in which it used to exit
(``oncall/broker.py``).
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from paging.models import Alert, Incident, IncidentEvent, Integration
from tests.fakes.twilio import FakeTwilio, _Scripted
from tests.paging.factories import IntegrationFactory, ServiceFactory, policy_with_steps
from tests.paging.test_celery_e2e import free_port, wait_for
from tests.paging.test_reliability_pg import pg_url_of_test_db
from tests.support import engineer_with_ladder

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
BIN = Path(sys.executable).parent
ACCOUNT = "AC" + "0" * 32
SEND_SECONDS = 1.0  # how long the fake provider takes to answer each send


# --- the pieces ---------------------------------------------------------------------------


class SlowTwilio(FakeTwilio):
    """The Twilio fake, answering every request after ``SEND_SECONDS``."""

    def start(self) -> SlowTwilio:
        super().start()

        class Always(list):
            def pop(self, index: int = -1) -> _Scripted:
                return _Scripted(stall=SEND_SECONDS)

            def __bool__(self) -> bool:
                return True

        self._script = Always()
        return self

    def sms_per_number(self) -> Counter:
        with self._lock:
            return Counter(r.form.get("To") for r in self.requests if r.kind == "sms")


class RedisServer:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--dir", str(workdir)]  # fmt: skip
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL)
        wait_for(lambda: _connects(self.port), 15, "redis-server to listen")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=15)


def _connects(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


class TcpProxy:
    """127.0.0.1:<port> -> upstream. ``cut()`` drops every connection and refuses new ones
    (the database host gone); ``restore()`` listens again on the same port."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(0.2)
        self._listener = listener
        self._stop.clear()
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()

    start = restore

    def cut(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    stop = cut

    def _accept(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                client, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        try:
            while True:
                for key, _ in selector.select(timeout=1):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)
        except (OSError, ValueError):
            return
        finally:
            selector.close()
            with self._lock:
                for sock in (a, b):
                    self._sockets.discard(sock)
                    sock.close()


@dataclass
class Topology:
    """gunicorn + celery worker + celery beat, as in deploy/systemd (flags aside)."""

    logs: Path
    broker_url: str
    database_url: str
    twilio_url: str
    web_port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
        env.update(
            DJANGO_SETTINGS_MODULE="tests.settings",
            DATABASE_URL=self.database_url,
            CELERY_BROKER_URL=self.broker_url,
            PYTHONPATH=str(ROOT),
            TWILIO_ACCOUNT_SID=ACCOUNT,
            TWILIO_AUTH_TOKEN="secret",
            TWILIO_FROM_NUMBER="+15005550006",
            TWILIO_BASE_URL=self.twilio_url,
            TWILIO_TIMEOUT_SECONDS="10",
        )
        return env

    def start(self) -> None:
        call_command("setup_periodic_tasks", stdout=open(os.devnull, "w"))  # noqa: SIM115
        commands = {
            "web": [str(BIN / "gunicorn"), "oncall.wsgi", "--bind", f"127.0.0.1:{self.web_port}",
                    "--workers", "2", "--timeout", "60"],
            "worker": [str(BIN / "celery"), "-A", "oncall", "worker", "-l", "info", "-c", "2"],
            "beat": [str(BIN / "celery"), "-A", "oncall", "beat", "-l", "info",
                     "-S", "django_celery_beat.schedulers:DatabaseScheduler",
                     "--schedule", str(self.logs / "beat-schedule")],
        }  # fmt: skip
        for name, cmd in commands.items():
            out = open(self.logs / f"{name}.log", "w")  # noqa: SIM115
            self.procs[name] = subprocess.Popen(
                cmd, env=self.env(), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )
        wait_for(lambda: _connects(self.web_port), 60, "gunicorn to listen", self.logs)
        wait_for(lambda: "ready." in self.log("worker"), 60, "the worker", self.logs)

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def alive(self) -> dict[str, bool]:
        return {name: proc.poll() is None for name, proc in self.procs.items()}

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def post_alert(self, token: str, key: str) -> int:
        body = json.dumps({"title": f"{key} down", "dedup_key": key}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.web_port}/integrations/webhook/{token}/",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code


@contextmanager
def topology(
    tmp_path: Path, *, database_url: str
) -> Iterator[tuple[Topology, RedisServer, SlowTwilio]]:
    twilio = SlowTwilio().start()
    redis = RedisServer(tmp_path)
    redis.start()
    procs = Topology(
        logs=tmp_path, broker_url=redis.url, database_url=database_url, twilio_url=twilio.url
    )
    try:
        procs.start()
        yield procs, redis, twilio
    finally:
        procs.stop()
        redis.kill()
        twilio.stop()


def paged_integrations(count: int, first_phone: int) -> dict[str, Integration]:
    """``count`` services, each paging its own engineer by SMS: phone -> its integration."""
    out = {}
    for n in range(count):
        phone = f"+1415555{first_phone + n:04d}"
        engineer = engineer_with_ladder(f"E{first_phone + n}", phone)
        service = ServiceFactory(escalation_policy=policy_with_steps([engineer]))
        out[phone] = IntegrationFactory(service=service, kind="webhook")
    return out


def fail_with_logs(procs: Topology, message: str) -> str:
    tails = "\n".join(f"--- {n}\n{procs.log(n)[-4000:]}" for n in ("worker", "beat", "web"))
    return f"{message}\n{tails}"


# --- the tests ------------------------------------------------------------------------


def test_redis_killed_twice_while_pages_are_in_flight(tmp_path: Path) -> None:
    phones = paged_integrations(9, first_phone=1)
    batches = [list(phones)[0:3], list(phones)[3:6], list(phones)[6:9]]
    answers: Counter = Counter()
    with topology(tmp_path, database_url=pg_url_of_test_db()) as (procs, redis, twilio):
        for restart, batch in enumerate(batches[:2]):
            for phone in batch:
                answers[procs.post_alert(phones[phone].token, f"r{restart}-{phone}")] += 1
            # Redis dies while the provider holds a send of this batch.
            wait_for(lambda b=batch: any(twilio.sms_per_number()[p] for p in b), 60,
                     "a send in flight", tmp_path)  # fmt: skip
            redis.kill()
            # While Redis is down the web still takes alerts (the kick is only a hint)...
            for phone in batches[2][restart::2]:
                answers[procs.post_alert(phones[phone].token, f"down{restart}-{phone}")] += 1
            time.sleep(3)
            redis.start()
        # ...and every due page goes out once Redis is back.
        wait_for(lambda: set(twilio.sms_per_number()) >= set(phones), 120,
                 "every page after the restarts", tmp_path)  # fmt: skip
        time.sleep(4)  # more ticks: nothing may go out twice
        alive = procs.alive()
        worker_log = procs.log("worker")
    print(f"inbound answers around the Redis restarts: {dict(answers)}")
    assert set(answers) <= {202, 503}, answers
    assert answers[202] >= 1
    assert alive == {"web": True, "worker": True, "beat": True}, fail_with_logs(procs, str(alive))
    assert "Unrecoverable error" not in worker_log
    assert worker_log.count("Connection to broker lost") >= 2  # the worker did see both
    # One SMS per engineer: every incident paged exactly once.
    assert twilio.sms_per_number() == Counter({phone: 1 for phone in phones})
    steps = IncidentEvent.objects.filter(kind="escalation_step")
    assert Counter(steps.values_list("incident_id", flat=True)) == Counter(
        {i: 1 for i in Incident.objects.values_list("pk", flat=True)}
    )


def test_postgresql_cut_for_10s_during_a_burst(tmp_path: Path) -> None:
    db = settings.DATABASES["default"]
    proxy = TcpProxy((db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432)))
    proxy.start()
    burst_to = paged_integrations(1, first_phone=100)
    (burst_phone, burst_integration) = next(iter(burst_to.items()))
    after_to = paged_integrations(1, first_phone=200)
    (after_phone, after_integration) = next(iter(after_to.items()))
    database_url = pg_url_of_test_db().replace(f":{db.get('PORT') or 5432}/", f":{proxy.port}/")
    answers: dict[str, int] = {}
    try:
        with topology(tmp_path, database_url=database_url) as (procs, _redis, twilio):
            stop = threading.Event()

            def burst() -> None:
                n = 0
                while not stop.is_set() and n < 400:
                    key = f"burst-{n:03d}"
                    answers[key] = procs.post_alert(burst_integration.token, key)
                    n += 1
                    time.sleep(0.1)

            poster = threading.Thread(target=burst)
            poster.start()
            time.sleep(5)
            proxy.cut()
            cut_at = len(answers)
            time.sleep(10)
            proxy.restore()
            restored_at = len(answers)
            time.sleep(5)
            stop.set()
            poster.join(timeout=120)
            # The engine resumes by itself: a new incident after the outage is paged.
            assert procs.post_alert(after_integration.token, "after") == 202
            wait_for(lambda: twilio.sms_per_number()[after_phone] == 1, 60,
                     "a page after the database came back", tmp_path)  # fmt: skip
            alive = procs.alive()
    finally:
        proxy.stop()
    statuses = Counter(answers.values())
    print(
        f"burst: {len(answers)} posts, {statuses}; cut after {cut_at}, restored after {restored_at}"
    )
    assert set(statuses) <= {202, 503}, statuses
    assert statuses[503] >= 1, "the cut was not seen"
    assert alive == {"web": True, "worker": True, "beat": True}, fail_with_logs(procs, str(alive))
    accepted = {key for key, status in answers.items() if status == 202}
    stored = Counter(Alert.objects.filter(integration=burst_integration).values_list(
        "alert_key", flat=True))  # fmt: skip
    assert all(stored[key] == 1 for key in accepted), "an accepted alert is missing or doubled"
    assert max(stored.values()) == 1
    # Every incident opened in the burst ran its first step once (pages to the same phone
    # beyond the throttle are bundled, so count steps, not SMS).
    incidents = Incident.objects.filter(service=burst_integration.service)
    wait_for(lambda: not incidents.filter(escalation_step=0).exists(), 60, "every first step")
    steps = Counter(
        IncidentEvent.objects.filter(kind="escalation_step", incident__in=incidents).values_list(
            "incident_id", flat=True
        )
    )
    assert steps == Counter({i: 1 for i in incidents.values_list("pk", flat=True)})
    assert twilio.sms_per_number()[burst_phone] >= 1
