"""Dispatch throughput: 2,000 SMS pages through a loopback Twilio answering in 300 ms.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oncall_bench python -m bench dispatch_scale

Knobs: BENCH_PAGES (2000), BENCH_LATENCY_MS (300), BENCH_WORKERS ("1,2,4"),
BENCH_CONCURRENCY ("8,16,32": DISPATCH_CONCURRENCY values; DISPATCH_PROVIDER_CONCURRENCY
is set to the same value so the provider limit is not the cap), BENCH_LOOP ("run": each
process calls ``dispatcher.run`` back to back; "tick": a whole engine tick every
ENGINE_TICK_SECONDS, as a celery worker driven by beat alone).

Creates (and drops at the end) the database ``<name>_dispatch``: BENCH_PAGES / 10
incidents, each paging 10 engineers by SMS (real pages written by the escalation engine,
see ``bench/_dispatch.py``); every destination is paged once per run. For each
concurrency and worker count: starts the dispatcher processes, makes every page due at
once, waits until all are sent; prints pages/s (pages / (last sent_at - due)), p50/p99
due->sent (``sent_at - due_at``), the doubles (destinations that received more than one
request: must be 0), the most requests the provider held at once, CPU per page of the
dispatcher processes and of their PostgreSQL backends (from /proc), rows per claim transaction
(``rows_claim`` calls that found rows; the rows given back over a provider's limit
count too), and "pool discards":
urllib3's "Connection pool is full, discarding connection" warnings (the twilio client's
HTTP pool is smaller than the sends in flight: each discard is a connection opened and
thrown away; against api.twilio.com, a TLS handshake). A configuration that would need
more PostgreSQL connections than the server has free is skipped (each send in flight
holds its own connection).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass

from bench._dispatch import (
    GROUP,
    Workers,
    cast_create,
    connections_free,
    database_create,
    database_destroy,
    django_setup,
    machine_line,
    pages_create,
    pages_release,
    percentile,
    postgres_cpu_seconds,
    wait_until,
    worker_env,
)
from bench._loopback import LoopbackTwilio

ACCOUNT_SID = "AC" + "b" * 32
TIMEOUT_SECONDS = 10  # TWILIO_TIMEOUT_SECONDS: the default; no send comes near it here
SPARE_CONNECTIONS = 10  # left for other sessions on a shared server


@dataclass
class Result:
    concurrency: int
    workers: int
    pages: int
    sent: int
    seconds: float
    p50: float
    p99: float
    worst: float
    doubles: int
    requests: int
    peak: int
    cpu_ms_per_page: float
    pg_cpu_ms_per_page: float
    load: float
    statuses: Counter[str]
    pool_discards: int
    rows_per_claim: float
    errors: int

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


def _run(url: str, services: list[object], *, concurrency: int, workers: int, latency: float):
    from django.utils import timezone

    from paging.models import Message

    pages = pages_create(services, tag=f"c{concurrency}w{workers}")
    twilio = LoopbackTwilio(latency)
    env = worker_env(
        url,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN="bench-token",
        TWILIO_FROM_NUMBER="+15550000000",
        TWILIO_BASE_URL=twilio.url,
        TWILIO_TIMEOUT_SECONDS=TIMEOUT_SECONDS,
        DISPATCH_CONCURRENCY=concurrency,
        DISPATCH_PROVIDER_CONCURRENCY=concurrency,
    )
    procs = Workers(workers, env).start()
    try:
        load = os.getloadavg()[0]
        due = timezone.now()
        pages_release(due)
        wait_until(
            lambda: not Message.objects.filter(status__in=["pending", "sending"]).exists(),
            seconds=max(120.0, 4 * pages * latency / concurrency / workers),
            poll=0.25,
        )
        pg_cpu = postgres_cpu_seconds()  # before the workers (and their backends) exit
    finally:
        procs.stop(then=twilio.stop)
    rows = list(Message.objects.values_list("status", "due_at", "sent_at"))
    latencies = [(sent - d).total_seconds() for status, d, sent in rows if status == "sent"]
    last = max((sent for status, _, sent in rows if status == "sent"), default=due)
    stderr = procs.stderr()
    return Result(
        concurrency=concurrency,
        workers=workers,
        pages=pages,
        sent=len(latencies),
        seconds=(last - due).total_seconds(),
        p50=percentile(latencies, 50) if latencies else float("nan"),
        p99=percentile(latencies, 99) if latencies else float("nan"),
        worst=max(latencies, default=float("nan")),
        doubles=twilio.doubles(),
        requests=sum(twilio.received.values()),
        peak=twilio.peak,
        cpu_ms_per_page=procs.cpu_seconds * 1000 / max(len(latencies), 1),
        pg_cpu_ms_per_page=pg_cpu * 1000 / max(len(latencies), 1),
        load=load,
        statuses=Counter(status for status, _, _ in rows),
        pool_discards=stderr.count("Connection pool is full"),
        rows_per_claim=procs.claimed / max(procs.claims, 1),
        errors=stderr.count("Traceback"),
    )


def main() -> None:
    django_setup()
    pages = int(os.environ.get("BENCH_PAGES", "2000"))
    latency = int(os.environ.get("BENCH_LATENCY_MS", "300")) / 1000
    worker_counts = [int(n) for n in os.environ.get("BENCH_WORKERS", "1,2,4").split(",")]
    concurrencies = [int(n) for n in os.environ.get("BENCH_CONCURRENCY", "8,16,32").split(",")]
    print(machine_line())
    old, url = database_create("dispatch")
    try:
        limit, used = connections_free()
        budget = limit - used - SPARE_CONNECTIONS
        started = time.perf_counter()
        services = cast_create(max(pages // GROUP, 1) * GROUP, ("sms",))
        print(
            f"database {url.rsplit('/', 1)[-1]}; {len(services) * GROUP} engineers, "
            f"{len(services)} incidents x {GROUP} SMS pages each per run (cast in "
            f"{time.perf_counter() - started:.1f} s); PostgreSQL max_connections {limit},"
            f" {used} open now (all sessions)"
        )
        print(
            f"settings: loopback Twilio (real twilio client, HTTP keep-alive) answering in "
            f"{latency * 1000:.0f} ms; TWILIO_TIMEOUT_SECONDS={TIMEOUT_SECONDS}; "
            "DISPATCH_PROVIDER_CONCURRENCY = DISPATCH_CONCURRENCY; DISPATCH_LEASE_SECONDS, "
            "breaker: defaults; "
            + (
                "each worker runs a whole engine tick every ENGINE_TICK_SECONDS (BENCH_LOOP=tick)"
                if os.environ.get("BENCH_LOOP") == "tick"
                else "each worker loops dispatcher.run(wait_seconds=1.0)"
            )
        )
        results: list[Result] = []
        for concurrency in concurrencies:
            for workers in worker_counts:
                need = workers * (concurrency + 2)
                if need > budget:
                    print(
                        f"skipped: DISPATCH_CONCURRENCY={concurrency} x {workers} workers needs"
                        f" ~{need} PostgreSQL connections, {budget} free"
                    )
                    continue
                result = _run(
                    url, services, concurrency=concurrency, workers=workers, latency=latency
                )
                results.append(result)
                _print_row(result, header=len(results) == 1)
        ceiling = ", ".join(f"{c}: {c / latency:.0f}" for c in concurrencies)
        print(f"ceiling per worker (DISPATCH_CONCURRENCY / latency), pages/s: {ceiling}")
        for r in results:
            if r.doubles or r.sent != r.pages or r.errors:
                print(
                    f"PROBLEM at {r.concurrency} x {r.workers}: statuses {dict(r.statuses)},"
                    f" {r.requests} provider requests for {r.pages} pages, {r.doubles} doubles,"
                    f" {r.errors} tracebacks in the workers' stderr"
                )
    finally:
        database_destroy(old)


def _print_row(r: Result, *, header: bool) -> None:
    if header:
        print(
            "| DISPATCH_CONCURRENCY | workers | pages/s | per worker | p50 due->sent |"
            " p99 due->sent | max | doubles | provider peak in flight | CPU ms/page dispatcher |"
            " CPU ms/page PostgreSQL | rows per claim | pool discards | load |"
        )
        print("| ---: " * 14 + "|")
    print(
        f"| {r.concurrency} | {r.workers} | {r.rate:.1f} | {r.rate / r.workers:.1f} |"
        f" {r.p50:.2f} s | {r.p99:.2f} s | {r.worst:.2f} s | {r.doubles} | {r.peak} |"
        f" {r.cpu_ms_per_page:.1f} | {r.pg_cpu_ms_per_page:.1f} | {r.rows_per_claim:.1f} |"
        f" {r.pool_discards} |"
        f" {r.load:.1f} |",
        flush=True,
    )


if __name__ == "__main__":
    main()
