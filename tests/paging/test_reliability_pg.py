"""Reliability on PostgreSQL: a worker killed mid-step, and ack-vs-escalation races."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from paging import outbox
from paging.engine import tick
from paging.escalation import escalations_advance
from paging.incident_actions import incident_acknowledge
from paging.models import Incident, IncidentEvent, Message
from tests.paging.factories import IncidentFactory, ServiceFactory, policy_with_steps
from tests.support import engineer_with_ladder

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)


def pg_url_of_test_db() -> str:
    """The URL of the database this test run uses (pytest-django's test_<name>)."""
    db = settings.DATABASES["default"]
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{host}:{port}/{db['NAME']}"


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=pg_url_of_test_db(),
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


CLAIM_THEN_HANG = """
import sys, time, django
django.setup()
from paging import escalation
def hang(ids):
    with open(sys.argv[1], "w") as f:
        f.write(",".join(map(str, ids)))
    time.sleep(600)  # killed here: claimed, nothing committed
escalation.after_claim_hook = hang
escalation.escalations_advance()
"""


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_worker_killed_after_claim_runs_the_step_exactly_once(tmp_path: Path) -> None:
    alice = engineer_with_ladder("Alice", "+14155550001")
    service = ServiceFactory(escalation_policy=policy_with_steps([alice]))
    incident = IncidentFactory(service=service, next_due_at=timezone.now())
    marker = tmp_path / "claimed"
    worker = subprocess.Popen(
        [sys.executable, "-c", CLAIM_THEN_HANG, str(marker)],
        env=subprocess_env(),
        cwd=ROOT,
    )
    try:
        wait_for(marker.exists, 60, "the worker to claim the incident")
        assert marker.read_text() == str(incident.pk)
        # While it holds the row, another worker skips it instead of running it twice.
        assert escalations_advance() == 0
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == -signal.SIGKILL
    assert not Message.objects.exists()  # nothing of the killed attempt survived

    # "Restart": the next worker finds the row unlocked and still due.
    assert escalations_advance() == 1
    assert escalations_advance() == 0
    assert Message.objects.filter(incident=incident).count() == 2  # sms + call, once
    assert incident.events.filter(kind="escalation_step").count() == 1
    incident.refresh_from_db()
    assert incident.escalation_step == 1


class RaceChannel:
    """At each send, asks the database (own connection) whether an ack has committed."""

    name = "race"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: list[int] = []
        self.after_ack: list[int] = []
        self.local = threading.local()

    def _status(self, incident_id: int) -> str:
        if not hasattr(self.local, "conn"):
            self.local.conn = psycopg.connect(
                pg_url_of_test_db().replace("postgres://", "postgresql://"), autocommit=True
            )
        row = self.local.conn.execute(
            "SELECT status FROM paging_incident WHERE id = %s", [incident_id]
        ).fetchone()
        return row[0]

    def send(self, message: Message) -> str:
        time.sleep(random.uniform(0, 0.003))
        committed = self._status(message.incident_id)
        with self.lock:
            self.sent.append(message.incident_id)
            if committed != "triggered":
                self.after_ack.append(message.incident_id)
        return f"race-{message.pk}"


def test_fifty_ack_vs_escalation_races(monkeypatch: pytest.MonkeyPatch, settings) -> None:
    settings.PAGING_THROTTLE_LIMITS = {}  # every round pages the same two phones
    channel = RaceChannel()
    monkeypatch.setattr(outbox, "channel_for", lambda kind: channel)
    alice = engineer_with_ladder("Alice", "+14155550001")
    bob = engineer_with_ladder("Bob", "+14155550002")
    service = ServiceFactory(escalation_policy=policy_with_steps([alice, bob]))
    acks: Counter = Counter()
    errors: list[BaseException] = []

    def run(fn, barrier: threading.Barrier, delay: float) -> None:
        try:
            barrier.wait()
            time.sleep(delay)
            fn()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    for round_no in range(50):
        incident = IncidentFactory(
            service=service, dedup_key=f"race-{round_no}", next_due_at=timezone.now()
        )

        def ack(engineer_id: int, incident_id: int = incident.pk) -> None:
            result = incident_acknowledge(incident_id=incident_id, engineer_id=engineer_id)
            if result.changed:
                acks[incident_id] += 1

        barrier = threading.Barrier(4)
        ack_delay = round_no * 0.003 + random.uniform(0, 0.002)
        threads = [
            threading.Thread(target=run, args=(tick, barrier, random.uniform(0, 0.005))),
            threading.Thread(target=run, args=(tick, barrier, random.uniform(0, 0.005))),
            # The acks come later and later over the rounds (0 to ~150 ms), so early
            # rounds ack before the step and late ones after its pages went out.
            threading.Thread(target=run, args=(lambda: ack(alice.pk), barrier, ack_delay)),
            threading.Thread(target=run, args=(lambda: ack(bob.pk), barrier, ack_delay)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors, errors
    tick()  # anything left pending after the races must not go out either
    assert channel.after_ack == []
    assert acks == Counter({i: 1 for i in Incident.objects.values_list("pk", flat=True)})
    assert IncidentEvent.objects.filter(kind="acknowledged").count() == 50
    assert Incident.objects.filter(status="acknowledged").count() == 50
    left = Message.objects.filter(status__in=["pending", "sending"])
    assert not left.exists(), list(left.values_list("incident_id", "status", "last_error"))
    # Some rounds let the step and its sms out before the ack: the race was real.
    rounds_with_pages = len(set(channel.sent))
    print(f"pages went out before the ack in {rounds_with_pages} of 50 rounds")
    assert 0 < rounds_with_pages < 50
