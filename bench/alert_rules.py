"""Alert rules on the hot path: CPU per alert of the Alertmanager endpoint with 20 rules
on the integration against none, in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> python -m bench alert_rules

Runs in a throwaway database (``bench_<name>``, created and dropped here; SQLite when
DATABASE_URL is unset). Two integrations of one service, grouping by group: "none" has
no rules, "20 rules" has 19 that do not match a typical alert (equals, not equals,
regex, in list, exists, a business-hours condition on a holiday calendar, all/any) and
a 20th that matches every alert (priority P2 and a runbook link from a template), so
every alert runs all 20. Every message carries new alerts with a new group key (an
incident opened, alerts and timeline written: the expensive path), posted through the
real request stack in this process (Django test client: middleware, the view, the
parser, ``alerts_ingest``). CPU = this process' user+system time (``time.process_time``)
per alert accepted; the database's own CPU is left out: both variants send the same
statements (pinned by ``tests/paging/test_alert_rules.py``).

The two variants alternate message by message (which goes first flips every round), in
BENCH_ROUNDS rounds (7) of BENCH_MESSAGES messages each (200 at 1 alert/message, a tenth
of that at 50), with the garbage collector run between rounds only; so a change in the
machine's load hits both alike. The median round is reported, with the spread.
BENCH_ALERTS_PER_MESSAGE ("1,50") picks the message sizes. The target: 20 rules cost at
most 10% more CPU per alert than none.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import time
import uuid

import yaml


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oncall.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    import django

    django.setup()


# The 20 rules, as the config file writes them (paging/rules_spec.py).
RULES_YAML = """
- {name: security, conditions: ['service="security"'], actions: {priority: 1}}
- {name: postgres, conditions: ['service="postgresql"'], actions: {priority: 2}}
- {name: mysql, conditions: ['service="mysql"', 'env="prod"'], actions: {priority: 2}}
- {name: kafka, conditions: ['job=~"kafka-.*"'], actions: {urgency: high}}
- {name: staging, conditions: ['env in "staging", "dev", "test"'], actions: {suppress: true}}
- {name: no team, conditions: ['team does not exist'], actions: {priority: 4}}
- {name: info, conditions: ['severity="info"'], actions: {suppress: true}}
- name: warning office
  conditions:
    - 'severity="warning"'
    - in business hours mon-fri 08:00-18:00 Europe/Berlin except holidays of Germany
  actions: {urgency: high}
- {name: disk, conditions: ['alertname=~"Disk.*|Filesystem.*"'], actions: {priority: 3}}
- {name: certs, conditions: ['alertname="CertificateExpiry"'], actions: {priority: 3}}
- name: k8s nodes
  match: any
  conditions: ['alertname="KubeNodeNotReady"', 'alertname="KubeletDown"']
  actions: {priority: 2}
- {name: ingress, conditions: ['namespace="ingress-nginx"'], actions: {priority: 2}}
- {name: payments dev, conditions: ['service="payments"', 'env!="prod"'], actions: {suppress: true}}
- {name: batch, conditions: ['job in "etl", "spark", "airflow"'], actions: {urgency: low}}
- {name: dns, conditions: ['alertname=~"(?i)dns.*"'], actions: {priority: 2}}
- name: latency
  conditions: ['alertname=~".*Latency.*"', 'severity!="critical"']
  actions: {urgency: low}
- {name: region eu, conditions: ['region="eu-central-1"'], actions: {priority: 3}}
- {name: canary, conditions: ['canary exists'], actions: {suppress: true}}
- name: silenced by annotation
  conditions: [{field: annotations.silence, op: equals, value: "yes"}]
  actions: {suppress: true}
- name: runbook and P2
  conditions: []
  actions:
    priority: 2
    links: [{text: Runbook, href: "https://runbooks.example.com/{{ labels.alertname }}"}]
"""


def _message(alerts: int) -> str:
    group = uuid.uuid4().hex
    return json.dumps(
        {
            "version": "4",
            "groupKey": f'{{}}:{{alertname="PaymentAPIDown",g="{group}"}}',
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "oncall",
            "groupLabels": {"alertname": "PaymentAPIDown"},
            "commonLabels": {"alertname": "PaymentAPIDown", "severity": "critical"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager.example.com:9093",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {
                        "alertname": "PaymentAPIDown",
                        "severity": "critical",
                        "service": "payments",
                        "team": "platform",
                        "env": "prod",
                        "instance": f"payments-{n}:8000",
                        "job": "payments",
                    },
                    "annotations": {"summary": "Payment API is not answering health checks"},
                    "startsAt": "2026-11-20T03:14:07.123456789Z",
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prometheus.example.com:9090/graph",
                    "fingerprint": uuid.uuid4().hex[:16],
                }
                for n in range(alerts)
            ],
        }
    )


def _round(client, urls: dict[str, str], count: int, alerts: int) -> dict[str, float]:
    """CPU milliseconds per alert of each variant, their messages interleaved one by one
    (A, B, A, B…: a change in the machine's load hits both alike). The garbage collector
    runs between rounds, not in the middle of one variant's request."""
    bodies = {name: [_message(alerts) for _ in range(count)] for name in urls}
    spent = dict.fromkeys(urls, 0.0)
    gc.collect()
    gc.disable()
    try:
        for i in range(count):
            for name, url in urls.items():
                started = time.process_time()
                response = client.post(url, bodies[name][i], content_type="application/json")
                spent[name] += time.process_time() - started
                assert response.status_code == 202, response.content
    finally:
        gc.enable()
    return {name: total * 1000 / (count * alerts) for name, total in spent.items()}


def _evaluation_cost(rules, event, now) -> float:
    """CPU microseconds to run the 20 compiled rules over one parsed alert (no database)."""
    from paging.alert_rules import rule_outcome

    runs = 20_000
    started = time.process_time()  # CPU: other processes' load does not count
    for _ in range(runs):
        rule_outcome(rules, event, now)
    return (time.process_time() - started) * 1e6 / runs


def main() -> None:
    _setup_django()
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from oncall.people.models import Team
    from paging.inbound.alertmanager import alertmanager_parse
    from paging.models import Integration, Service
    from paging.rule_writes import alert_rules_save, calendar_exists, service_lookup
    from paging.rules_cache import rules_load
    from paging.rules_spec import rules_parse
    from schedules.models import Holiday, HolidayCalendar

    rounds = int(os.environ.get("BENCH_ROUNDS", "7"))
    messages = int(os.environ.get("BENCH_MESSAGES", "200"))
    sizes = [int(n) for n in os.environ.get("BENCH_ALERTS_PER_MESSAGE", "1,50").split(",")]
    settings_db = connection.settings_dict
    settings_db.setdefault("TEST", {})["NAME"] = (
        f"bench_{settings_db['NAME']}"
        if connection.vendor != "sqlite"
        else "/tmp/bench_alert_rules.sqlite3"
    )
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
        team = Team.objects.create(slug="bench", name="Bench")
        service = Service.objects.create(name="payments", team=team)
        germany = HolidayCalendar.objects.create(name="Germany")
        Holiday.objects.create(calendar=germany, date="2026-12-25", name="Christmas Day")
        # No rate limit: the benchmark sends far more than 120 messages a minute.
        plain = Integration.objects.create(
            service=service, kind="alertmanager", name="none", rate_limit_per_minute=0
        )
        ruled = Integration.objects.create(
            service=service, kind="alertmanager", name="rules", rate_limit_per_minute=0
        )
        rules = yaml.safe_load(RULES_YAML)
        specs = rules_parse(rules, service_for=service_lookup, calendars=calendar_exists)
        alert_rules_save(integration=ruled, specs=specs)
        variants = {
            "none": f"/integrations/alertmanager/{plain.token}/",
            "20 rules": f"/integrations/alertmanager/{ruled.token}/",
        }
        client = Client()
        for url in variants.values():  # warm: caches, compiled SQL and rules
            for _ in range(20):
                client.post(url, _message(1), content_type="application/json")
        compiled = rules_load(ruled)
        assert compiled is not None and len(compiled.rules) == 20
        event = alertmanager_parse(json.loads(_message(1)))[0]
        micro = _evaluation_cost(compiled.rules, event, timezone.now())
        print(f"20 compiled rules over one alert (all evaluated): {micro:.1f} µs CPU")
        for alerts in sizes:
            count = messages if alerts == 1 else max(2, messages // 10)
            results: dict[str, list[float]] = {name: [] for name in variants}
            loads = []
            for n in range(rounds):
                order = list(variants) if n % 2 == 0 else list(reversed(variants))
                spent = _round(client, {name: variants[name] for name in order}, count, alerts)
                for name, value in spent.items():
                    results[name].append(value)
                loads.append(os.getloadavg()[0])
            base = statistics.median(results["none"])
            ruled_ms = statistics.median(results["20 rules"])
            # Per round, each variant against the other of the same round.
            ratios = [r / b for r, b in zip(results["20 rules"], results["none"], strict=True)]
            print(
                f"{alerts} alert(s)/message, {rounds} rounds of {count} messages each"
                f" (load average {min(loads):.1f}-{max(loads):.1f}):"
            )
            for name, values in results.items():
                print(
                    f"  {name:>8}: {statistics.median(values):.3f} ms CPU/alert"
                    f" (rounds {min(values):.3f}-{max(values):.3f})"
                )
            print(
                f"  20 rules vs none: {100 * (ruled_ms / base - 1):+.1f}% (medians),"
                f" per round {100 * (min(ratios) - 1):+.1f}% .. {100 * (max(ratios) - 1):+.1f}%,"
                f" median {100 * (statistics.median(ratios) - 1):+.1f}%  (target: at most +10%)"
            )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
