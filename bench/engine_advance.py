"""Engine benchmark: N open incidents whose next escalation step is due -> advance them all.

Usage: DATABASE_URL=postgres://… python -m bench engine_advance
       (BENCH_INCIDENTS=10000 by default; BENCH_ENGINEERS=200)

Runs in a throwaway database (bench_<name>), created and dropped here. Each incident
is on one of 20 services whose policy's first step pages 2 engineers (one engineer
target and a team round-robin); every engineer has 2 notification rules, so each
step writes 4 outbox rows, 1 escalation-step line and 4 "queued" lines.
Prints steps/s (timed without tracemalloc, which slows allocation-heavy code) and the
peak RSS growth, at a fifth of the size and at full size; then both sizes again under
tracemalloc for the peak Python memory: flat, since incidents go in batches of 500.
"""

from __future__ import annotations

import os
import resource
import threading
import time
import tracemalloc


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oncall.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    import django

    django.setup()


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _population(engineers: int):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from oncall.people.models import ContactMethod, Engineer, NotificationRule, Team, TeamMembership
    from paging.models import EscalationPolicy, EscalationStep, EscalationTarget, Service

    user_model = get_user_model()
    team = Team.objects.create(name="bench", slug="bench")
    users = user_model.objects.bulk_create(
        [user_model(username=f"bench{i}") for i in range(engineers)]
    )
    people = Engineer.objects.bulk_create(
        [Engineer(user=u, display_name=f"Engineer {i}") for i, u in enumerate(users)]
    )
    TeamMembership.objects.bulk_create([TeamMembership(team=team, engineer=e) for e in people])
    now = timezone.now()
    methods = ContactMethod.objects.bulk_create(
        [
            ContactMethod(engineer=e, kind=kind, value=f"+1415{i:07d}", verified_at=now)
            for i, e in enumerate(people)
            for kind in ("sms", "voice")
        ]
    )
    NotificationRule.objects.bulk_create(
        [
            NotificationRule(
                engineer_id=m.engineer_id,
                contact_method=m,
                delay_minutes=0 if m.kind == "sms" else 5,
            )
            for m in methods
        ]
    )
    services = []
    for n in range(20):
        policy = EscalationPolicy.objects.create(name=f"bench policy {n}")
        step = EscalationStep.objects.create(policy=policy, position=0, delay_minutes=15)
        EscalationTarget.objects.create(step=step, kind="engineer", engineer=people[n])
        EscalationTarget.objects.create(step=step, kind="team_round_robin", team=team)
        EscalationStep.objects.create(policy=policy, position=1, delay_minutes=15)
        services.append(
            Service.objects.create(name=f"bench {n}", team=team, escalation_policy=policy)
        )
    return services


def _incidents(services, count: int, tag: str) -> None:
    from django.utils import timezone

    from paging.models import Incident

    now = timezone.now()
    Incident.objects.bulk_create(
        [
            Incident(
                service=services[i % len(services)],
                escalation_policy_id=services[i % len(services)].escalation_policy_id,
                dedup_key=f"{tag}-{i}",
                title=f"bench incident {i}",
                created_at=now,
                updated_at=now,
                next_due_at=now,
            )
            for i in range(count)
        ],
        batch_size=2000,
    )


class _RssSampler(threading.Thread):
    """Peak RSS while the engine runs, sampled every 20 ms (no slowdown, unlike tracemalloc)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = self.base = _rss_mb()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.02):
            self.peak = max(self.peak, _rss_mb())


def _advance_all(*, traced: bool) -> tuple[int, float, float, float]:
    """(advanced, wall seconds, process CPU seconds, peak memory growth MiB)."""
    from paging.escalation import escalations_advance

    sampler = _RssSampler()
    if traced:
        tracemalloc.start()
    sampler.start()
    started, cpu = time.perf_counter(), time.process_time()
    advanced = escalations_advance(max_batches=10_000)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    sampler.done.set()
    sampler.join()
    if traced:
        peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024
        tracemalloc.stop()
    else:
        peak = sampler.peak - sampler.base
    return advanced, elapsed, cpu, peak


def main() -> None:
    _setup_django()
    from django.db import connection

    from paging.models import IncidentEvent, Message

    total = int(os.environ.get("BENCH_INCIDENTS", "10000"))
    engineers = int(os.environ.get("BENCH_ENGINEERS", "200"))
    settings_db = connection.settings_dict
    settings_db.setdefault("TEST", {})["NAME"] = (
        f"bench_{settings_db['NAME']}"
        if connection.vendor != "sqlite"
        else "/tmp/bench_engine.sqlite3"
    )
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
        services = _population(engineers)
        for size in (total // 5, total):
            _incidents(services, size, tag=f"n{size}")
            load = os.getloadavg()[0]
            advanced, elapsed, cpu, rss = _advance_all(traced=False)
            print(
                f"{advanced} incidents advanced in {elapsed:.2f} s"
                f" = {advanced / elapsed:,.0f} steps/s (engine process CPU {cpu:.2f} s,"
                f" load average {load:.1f}); peak RSS growth {rss:+.1f} MiB"
            )
        for size in (total // 5, total):
            _incidents(services, size, tag=f"t{size}")
            advanced, _, _, peak = _advance_all(traced=True)
            print(
                f"{advanced} incidents again under tracemalloc: peak Python memory {peak:.1f} MiB"
            )
        print(
            f"outbox rows: {Message.objects.count():,}, timeline lines: "
            f"{IncidentEvent.objects.count():,}"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
