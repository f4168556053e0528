"""A real celery worker and beat, started by the test, against Redis and PostgreSQL.

Run with DATABASE_URL=postgres://… CELERY_BROKER_URL=redis://…: the processes use the
test database (pytest-django's test_<name>). The broker-restart test starts its own
redis-server on a spare port so that other users of the shared Redis are not affected.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from paging.alert_event import AlertEvent
from paging.ingest import alerts_ingest
from paging.models import Incident, Message
from tests.paging.factories import IntegrationFactory, ServiceFactory, policy_with_steps
from tests.paging.test_reliability_pg import pg_url_of_test_db
from tests.support import engineer_with_ladder

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
CELERY = str(Path(sys.executable).with_name("celery"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def celery_processes(broker_url: str, logs: Path) -> Iterator[None]:
    """Worker + beat (DatabaseScheduler) on the test database; killed on exit."""
    env = {k: v for k, v in os.environ.items()}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=pg_url_of_test_db(),
        CELERY_BROKER_URL=broker_url,
        PYTHONPATH=str(ROOT),
    )
    call_command("setup_periodic_tasks", stdout=open(os.devnull, "w"))  # noqa: SIM115
    # --purge: earlier tests of the same run queue one kick per commit on this broker;
    # a backlog of stale kicks would delay the beat ticks this test measures.
    commands = {
        "worker": [CELERY, "-A", "oncall", "worker", "-l", "info", "-c", "1", "--without-gossip",
                   "--without-mingle", "--without-heartbeat", "--purge"],
        "beat": [CELERY, "-A", "oncall", "beat", "-l", "info",
                 "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"],
    }  # fmt: skip
    procs = []
    try:
        for name, cmd in commands.items():
            out = open(logs / f"{name}.log", "w")  # noqa: SIM115
            procs.append(
                subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
            )
        yield
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_for(predicate, timeout: float, what: str, logs: Path | None = None) -> float:
    """Poll until ``predicate()`` is true; returns the monotonic time it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        time.sleep(0.1)
    detail = ""
    if logs is not None:
        detail = "\n".join(p.read_text()[-3000:] for p in sorted(logs.glob("*.log")))
    raise AssertionError(f"timed out waiting for {what}\n{detail}")


def sent_to(phone: str) -> list[Message]:
    return list(Message.objects.filter(destination=phone, kind="sms", status="sent"))


def two_step_incident() -> Incident:
    alice = engineer_with_ladder("Alice", "+14155550001")
    bob = engineer_with_ladder("Bob", "+14155550002")
    service = ServiceFactory(escalation_policy=policy_with_steps([alice], [bob]))
    integration = IntegrationFactory(service=service, kind="webhook")
    result = alerts_ingest(
        integration=integration,
        events=[AlertEvent(action="trigger", alert_key="k", group_key="k", title="DB down")],
    )
    return Incident.objects.get(pk=result.incident_ids[0])


def step_two_due_in(incident: Incident, seconds: float) -> None:
    # The policy says 15 minutes; the test brings the due time near instead of waiting.
    Incident.objects.filter(pk=incident.pk).update(
        next_due_at=timezone.now() + timedelta(seconds=seconds)
    )


def test_step_two_page_goes_out_within_5s_of_due_time(tmp_path: Path) -> None:
    with celery_processes(settings.CELERY_BROKER_URL, tmp_path):
        incident = two_step_incident()  # the kick after commit runs step 1 at once
        wait_for(lambda: sent_to("+14155550001"), 60, "step 1 page", tmp_path)
        step_two_due_in(incident, 3)
        due = Incident.objects.get(pk=incident.pk).next_due_at
        wait_for(lambda: sent_to("+14155550002"), 30, "step 2 page", tmp_path)
    (page,) = sent_to("+14155550002")
    lateness = (page.sent_at - due).total_seconds()
    print(f"step 2 page sent {lateness:.2f} s after its due time")
    assert 0 <= lateness <= 5, f"{lateness:.2f} s late; load average {os.getloadavg()}"


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_broker_restart_mid_escalation_loses_and_doubles_nothing(tmp_path: Path) -> None:
    port = free_port()
    redis_cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(tmp_path)]  # fmt: skip
    redis = subprocess.Popen(redis_cmd, stdout=subprocess.DEVNULL)
    try:
        broker = f"redis://127.0.0.1:{port}/0"
        with celery_processes(broker, tmp_path):
            incident = two_step_incident()
            wait_for(lambda: sent_to("+14155550001"), 60, "step 1 page", tmp_path)
            redis.send_signal(signal.SIGTERM)  # the broker goes away, queued kicks with it
            redis.wait(timeout=15)
            step_two_due_in(incident, 1)
            time.sleep(4)  # step 2 falls due while the broker is down
            assert sent_to("+14155550002") == []
            redis = subprocess.Popen(redis_cmd, stdout=subprocess.DEVNULL)
            back = time.monotonic()
            done = wait_for(lambda: sent_to("+14155550002"), 90, "step 2 after restart", tmp_path)
            print(f"step 2 page sent {done - back:.1f} s after the broker came back")
            time.sleep(3)  # a few more ticks: nothing more may go out
    finally:
        redis.send_signal(signal.SIGTERM)
        redis.wait(timeout=15)
    pages = Message.objects.filter(incident=incident)
    assert sorted(pages.filter(status="sent").values_list("destination", "kind")) == [
        ("+14155550001", "sms"),
        ("+14155550002", "sms"),
    ]
    assert set(pages.filter(status="sent").values_list("attempts", flat=True)) == {1}
    assert pages.filter(status="pending", kind="voice").count() == 2  # the +5 min calls
    assert Incident.objects.get(pk=incident.pk).events.filter(kind="escalation_step").count() == 2
