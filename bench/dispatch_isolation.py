"""Dispatch isolation: Twilio hangs (answers after 30 s) while e-mail answers in 20 ms.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oncall_bench python -m bench dispatch_isolation

Knobs: BENCH_SECONDS (60: how long pages keep coming due), BENCH_RATE (2 incidents/s),
BENCH_WORKERS (2 dispatcher processes), BENCH_HANG_SECONDS (30), BENCH_HEALTHY_MS (20).
The dispatch settings are the defaults (DISPATCH_CONCURRENCY=8,
DISPATCH_PROVIDER_CONCURRENCY=4) unless set in the environment.

Creates (and drops at the end) the database ``<name>_dispatch``. Each incident pages one
engineer by SMS and by e-mail at once (real pages written by the escalation engine, see
``bench/_dispatch.py``); incidents come due one after another at BENCH_RATE a second for
BENCH_SECONDS. SMS go to a loopback Twilio (the real twilio client) that holds every
answer for BENCH_HANG_SECONDS (TWILIO_TIMEOUT_SECONDS is 5 s more, so they are slow, not
failing: the breaker stays closed and every slot Twilio may use stays taken); e-mail goes
to a loopback SMTP server (Django's SMTP backend) answering DATA in BENCH_HEALTHY_MS.
Prints p50/p99/max due->sent of the e-mails (target: p99 <= 1 s), how many SMS were in
flight at most (at the provider, and rows in ``sending``; the bound is workers x
DISPATCH_PROVIDER_CONCURRENCY) and the doubles on both providers (must be 0).
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from datetime import timedelta

from bench._dispatch import (
    Workers,
    cast_create,
    database_create,
    database_destroy,
    django_setup,
    machine_line,
    pages_create,
    pages_release,
    percentile,
    wait_until,
    worker_env,
)
from bench._loopback import LoopbackSmtp, LoopbackTwilio


def main() -> None:
    django_setup()
    from django.conf import settings
    from django.utils import timezone

    from paging.models import Message

    seconds = float(os.environ.get("BENCH_SECONDS", "60"))
    rate = float(os.environ.get("BENCH_RATE", "2"))
    workers = int(os.environ.get("BENCH_WORKERS", "2"))
    hang = float(os.environ.get("BENCH_HANG_SECONDS", "30"))
    healthy = int(os.environ.get("BENCH_HEALTHY_MS", "20")) / 1000
    incidents = int(seconds * rate)
    concurrency = int(os.environ.get("DISPATCH_CONCURRENCY", settings.DISPATCH_CONCURRENCY))
    per_provider = int(
        os.environ.get("DISPATCH_PROVIDER_CONCURRENCY", settings.DISPATCH_PROVIDER_CONCURRENCY)
    )
    print(machine_line())
    old, url = database_create("dispatch")
    twilio = LoopbackTwilio(hang)
    smtp = LoopbackSmtp(healthy)
    try:
        services = cast_create(incidents, ("sms", "email"), group=1)
        pages_create(services, tag="isolation")
        print(
            f"settings: {workers} dispatcher processes, DISPATCH_CONCURRENCY={concurrency},"
            f" DISPATCH_PROVIDER_CONCURRENCY={per_provider}; loopback Twilio answering in"
            f" {hang:.0f} s, TWILIO_TIMEOUT_SECONDS={hang + 5:.0f}; loopback SMTP answering in"
            f" {healthy * 1000:.0f} ms, EMAIL_TIMEOUT=10; {incidents} incidents at {rate:g}/s"
            f" for {seconds:.0f} s, each paging one engineer by SMS and e-mail"
        )
        env = worker_env(
            url,
            TWILIO_ACCOUNT_SID="AC" + "b" * 32,
            TWILIO_AUTH_TOKEN="bench-token",
            TWILIO_FROM_NUMBER="+15550000000",
            TWILIO_BASE_URL=twilio.url,
            TWILIO_TIMEOUT_SECONDS=int(hang + 5),
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=smtp.port,
            EMAIL_TIMEOUT=10,
            DISPATCH_CONCURRENCY=concurrency,
            DISPATCH_PROVIDER_CONCURRENCY=per_provider,
        )
        procs = Workers(workers, env).start()
        sending_peak = 0
        stop_sampling = threading.Event()

        def sample() -> None:  # SMS rows claimed and not yet answered, every 250 ms
            nonlocal sending_peak
            from django.db import connection

            while not stop_sampling.wait(0.25):
                now = Message.objects.filter(kind="sms", status="sending").count()
                sending_peak = max(sending_peak, now)
            connection.close()

        sampler = threading.Thread(target=sample, daemon=True)
        try:
            load = os.getloadavg()[0]
            start = timezone.now() + timedelta(seconds=1)
            pages_release(start, per_second=rate)
            sampler.start()
            wait_until(
                lambda: Message.objects.filter(kind="email", status="sent").count() >= incidents,
                seconds=seconds + 30,
                poll=0.5,
            )
            stop_sampling.set()
            sampler.join()
            rows = list(Message.objects.values_list("kind", "status", "due_at", "sent_at"))
        finally:
            procs.stop(then=twilio.stop)
    finally:
        twilio.stop()
        smtp.stop()
        database_destroy(old)
    mails = [(sent - due).total_seconds() for k, _, due, sent in rows if k == "email" and sent]
    statuses = Counter((kind, st) for kind, st, _, _ in rows)
    print(f"load average when the pages started coming due: {load:.1f}")
    if mails:
        print(
            f"healthy channel (e-mail at {healthy * 1000:.0f} ms): {len(mails)}/{incidents} sent;"
            f" due->sent p50 {percentile(mails, 50) * 1000:.0f} ms,"
            f" p99 {percentile(mails, 99) * 1000:.0f} ms, max {max(mails) * 1000:.0f} ms"
            f" (target p99 <= 1000 ms)"
        )
    print(
        f"hanging provider (Twilio at {hang:.0f} s): at most {twilio.peak} requests held at"
        f" the provider (bound: {workers} workers x DISPATCH_PROVIDER_CONCURRENCY"
        f" {per_provider} = {workers * per_provider}); at most {sending_peak} SMS rows seen in"
        " 'sending' (this also counts rows claimed over the limit and given back at once);"
        f" {statuses[('sms', 'sent')]} SMS sent, {statuses[('sms', 'pending')]} still waiting"
        f" when the last e-mail left"
    )
    print(f"doubles: Twilio {twilio.doubles()}, SMTP {smtp.doubles()} (must be 0)")
    problems = procs.stderr().count("Traceback")
    if problems:
        print(f"PROBLEM: {problems} tracebacks in the dispatcher processes' stderr")


if __name__ == "__main__":
    main()
