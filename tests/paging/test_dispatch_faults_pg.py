"""The dispatcher under slow, hanging and dying workers, on PostgreSQL, against the fake
Twilio and SMTP servers driven by the real clients. Each test counts what every
destination received: exactly once."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from paging.dispatch import Dispatcher
from paging.escalation import escalations_advance
from paging.incident_actions import incident_acknowledge
from paging.models import Message
from tests.channels.twilio_email_links.conftest import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, PUBLIC
from tests.fakes.smtp import FakeSmtp
from tests.fakes.twilio import FakeTwilio
from tests.paging.factories import IncidentFactory, ServiceFactory, policy_with_steps
from tests.paging.test_reliability_pg import ROOT, subprocess_env, wait_for
from tests.support import engineer_with_ladder

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# A dispatcher process: sends until nothing is pending or sending, then waits for its
# sends in flight. Settings come from the environment the test gives it.
DISPATCHER = """
import sys, time, django
django.setup()
from paging.dispatch import dispatcher
from paging.models import Message
deadline = time.monotonic() + float(sys.argv[1])
while time.monotonic() < deadline:
    dispatcher.run(wait_seconds=1.0)
    if not Message.objects.filter(status__in=["pending", "sending"]).exists():
        break
dispatcher.drain(60)
"""


def notices(count: int, kind: str = "sms", due_in: float = 0.0) -> list[Message]:
    due = timezone.now() + timedelta(seconds=due_in)
    return Message.objects.bulk_create(
        Message(
            idempotency_key=f"notice:{kind}:{n}",
            purpose=Message.Purpose.NOTICE,
            kind=kind,
            destination=f"+1415555{n:04d}" if kind == "sms" else f"eng{n}@example.test",
            subject="hello" if kind == "email" else "",
            body=f"notice {n}",
            due_at=due,
        )
        for n in range(count)
    )


@pytest.fixture
def slow_twilio() -> Iterator[FakeTwilio]:
    server = FakeTwilio().start()
    yield server
    server.stop()


def twilio_env(fake: FakeTwilio, *, concurrency: int) -> dict[str, str]:
    """A dispatcher process on the fake Twilio, with a lease (3 s) shorter than a send."""
    return subprocess_env(
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_FROM_NUMBER=FROM_NUMBER,
        TWILIO_BASE_URL=fake.url,
        PUBLIC_BASE_URL=PUBLIC,
        TWILIO_TIMEOUT_SECONDS="20",
        DISPATCH_CONCURRENCY=str(concurrency),
        DISPATCH_PROVIDER_CONCURRENCY=str(concurrency),
        DISPATCH_LEASE_SECONDS="3",
    )


def use_twilio(settings, fake: FakeTwilio, *, timeout: int) -> None:
    """This process sends through the fake Twilio (a client timeout past its latency)."""
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_FROM_NUMBER = FROM_NUMBER
    settings.TWILIO_BASE_URL = fake.url
    settings.TWILIO_TIMEOUT_SECONDS = timeout
    settings.TWILIO_ENABLED = True
    settings.PUBLIC_BASE_URL = PUBLIC


def start_dispatcher(env: dict[str, str], seconds: float = 120) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", DISPATCHER, str(seconds)], cwd=ROOT, env=env
    )


def received_per_destination(fake: FakeTwilio) -> Counter[str]:
    return Counter(r.form["To"] for r in fake.requests if r.method == "POST")


def test_two_dispatchers_and_a_5s_provider_send_each_message_once(slow_twilio) -> None:
    """60 SMS, a provider answering in 5 s, two dispatcher processes whose lease (3 s) is
    shorter than one send: no row is claimed twice, each number gets one request."""
    slow_twilio.latency = 5.0
    messages = notices(60)
    env = twilio_env(slow_twilio, concurrency=16)
    workers = [start_dispatcher(env), start_dispatcher(env)]
    for worker in workers:
        assert worker.wait(timeout=150) == 0
    per_number = received_per_destination(slow_twilio)
    assert per_number == Counter({m.destination: 1 for m in messages})
    statuses = Counter(Message.objects.values_list("status", flat=True))
    assert statuses == Counter({"sent": 60})
    assert Message.objects.filter(attempts=1, claim_token="").count() == 60


def test_a_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(slow_twilio) -> None:
    """SIGKILL a dispatcher while the provider holds 8 of its sends: after its leases
    run out another dispatcher asks Twilio what arrived (it all did) and sends only the
    rest: every number gets exactly one SMS, every row ends sent."""
    slow_twilio.latency = 3.0
    messages = notices(20)
    env = twilio_env(slow_twilio, concurrency=8)
    doomed = start_dispatcher(env)
    wait_for(lambda: len(slow_twilio.requests) >= 8, 30, "the first 8 sends in flight")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    in_flight_at_kill = {r.form["To"] for r in slow_twilio.requests}
    assert Message.objects.filter(status="sending").count() == len(in_flight_at_kill)
    slow_twilio.latency = 0.0
    survivor = start_dispatcher(env)
    assert survivor.wait(timeout=120) == 0
    assert received_per_destination(slow_twilio) == Counter({m.destination: 1 for m in messages})
    assert Counter(Message.objects.values_list("status", flat=True)) == Counter({"sent": 20})
    reconciled = Message.objects.filter(destination__in=in_flight_at_kill)
    # Found at the provider, not sent again: the provider's own id, one attempt recorded.
    assert all(m.provider_id.startswith("SM") for m in reconciled)
    assert {m.attempts for m in reconciled} == {1}


def test_a_hanging_provider_holds_only_its_own_messages(slow_twilio, settings) -> None:
    """Twilio hangs for 30 s; the e-mails due at the same moment leave within 1 s, while
    every SMS is still waiting on Twilio (no more than Twilio's share of the pool)."""
    smtp = FakeSmtp().start()
    use_twilio(settings, slow_twilio, timeout=60)
    settings.EMAIL_ENABLED = True
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS, settings.EMAIL_TIMEOUT = False, 5
    settings.DISPATCH_CONCURRENCY = 8
    settings.DISPATCH_PROVIDER_CONCURRENCY = 4
    slow_twilio.latency = 30.0
    dispatcher = Dispatcher()
    dispatcher.start()  # as a worker process does when it starts
    sms = notices(10, "sms")
    mails = notices(4, "email")
    stop = threading.Event()

    def engine() -> None:  # what the tick loop does: dispatch again and again
        try:
            while not stop.is_set():
                dispatcher.run(wait_seconds=0.5)
        finally:
            connection.close()

    loop = threading.Thread(target=engine)
    loop.start()
    try:
        wait_for(
            lambda: Message.objects.filter(kind="email", status="sent").count() == 4,
            10,
            "the e-mails",
        )
        # Twilio's share of the pool reached it (each request hangs there for 30 s).
        wait_for(lambda: len(slow_twilio.requests) >= 4, 10, "4 SMS at Twilio")
        in_flight = Message.objects.filter(kind="sms", status="sending").count()
        waiting = Message.objects.filter(kind="sms", status="pending").count()
    finally:
        stop.set()
        slow_twilio.stop()  # releases the hanging answers
        loop.join(timeout=30)
        dispatcher.drain(30)
        smtp.stop()
    assert sorted(r for m in smtp.take() for r in m.rcpt_to) == sorted(m.destination for m in mails)
    for mail in Message.objects.filter(kind="email"):
        assert mail.sent_at - mail.due_at <= timedelta(seconds=1), mail.sent_at - mail.due_at
    # Twilio held exactly its share of the pool; the rest of the SMS stayed in the queue.
    assert (in_flight, waiting) == (4, 6)
    assert len({r.form["To"] for r in slow_twilio.requests}) == len(slow_twilio.requests) == 4
    assert len(sms) == 10


def test_pages_to_one_incident_are_in_flight_together_and_an_ack_waits_for_them(
    slow_twilio, settings
) -> None:
    """Sends to one incident share its lock (FOR SHARE): both engineers' SMS are at the
    provider at the same moment, so an ack waits for one provider call, not a queue of
    them; and it commits only after both are recorded: nothing leaves after it."""
    use_twilio(settings, slow_twilio, timeout=30)
    settings.DISPATCH_CONCURRENCY = 8
    slow_twilio.latency = 6.0
    alice = engineer_with_ladder("Alice", "+14155550001")
    bob = engineer_with_ladder("Bob", "+14155550002")
    incident = IncidentFactory(
        service=ServiceFactory(escalation_policy=policy_with_steps([alice, bob])),
        next_due_at=timezone.now(),
    )
    dispatcher = Dispatcher()
    dispatcher.start()

    def engine() -> None:
        try:
            escalations_advance()
            dispatcher.run(wait_seconds=0.5)
        finally:
            connection.close()

    loop = threading.Thread(target=engine)
    loop.start()
    try:
        # Both arrive before the provider answers the first (6 s): not one after another.
        wait_for(lambda: len(slow_twilio.requests) == 2, 4, "both SMS at the provider")
        result = incident_acknowledge(incident_id=incident.pk, engineer_id=alice.pk)
        assert result.changed
        # The ack committed after both sends were recorded, not in between.
        sms = Message.objects.filter(incident=incident, kind="sms")
        assert sorted(sms.values_list("destination", "status")) == [
            ("+14155550001", "sent"),
            ("+14155550002", "sent"),
        ]
    finally:
        loop.join(timeout=30)
        dispatcher.drain(30)
    assert sorted(r.form["To"] for r in slow_twilio.requests) == ["+14155550001", "+14155550002"]
    calls = Message.objects.filter(incident=incident, kind="voice")
    assert set(calls.values_list("status", flat=True)) == {"cancelled"}
