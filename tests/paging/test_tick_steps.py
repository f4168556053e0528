"""Tick steps: explicit order, isolated failures, counted on /metrics, shown on /healthz."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

import paging.engine
import paging.tasks
from paging.alert_event import AlertEvent
from paging.engine import (
    DISPATCH,
    ESCALATION,
    register_tick_step,
    tick,
    tick_steps,
)
from paging.ingest import alerts_ingest
from paging.models import EngineHeartbeat, EngineStep, Incident, Message
from paging.outbox import message_enqueue
from tests.analytics.test_prometheus import metric_lines
from tests.factories import (
    ContactMethodFactory,
    EngineerFactory,
    NotificationRuleFactory,
    UserFactory,
)
from tests.paging.factories import IntegrationFactory, ServiceFactory, policy_with_steps
from tests.support import T0, RecordingChannel

HEALTHZ_AUTH = "Bearer test-healthz-token"  # tests/settings.py HEALTHZ_TOKEN

PHONE = "+14155550001"
SECRET = "password=hunter2 in the error text"


@pytest.fixture
def steps(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Callable[[], int]]:
    """Register steps for one test only; the app's own steps stay registered."""
    monkeypatch.setattr(paging.engine, "_STEPS", dict(paging.engine._STEPS))
    return register_tick_step


def failing(exc: Exception) -> Callable[[], int]:
    def step() -> int:
        raise exc

    return step


def incident_paging_alice() -> Incident:
    """An incident whose policy pages Alice by SMS at once."""
    alice = EngineerFactory(display_name="Alice")
    sms = ContactMethodFactory(engineer=alice, kind="sms", value=PHONE)
    NotificationRuleFactory(engineer=alice, contact_method=sms, delay_minutes=0)
    service = ServiceFactory(escalation_policy=policy_with_steps([alice]))
    result = alerts_ingest(
        integration=IntegrationFactory(service=service, kind="webhook"),
        events=[AlertEvent(action="trigger", alert_key="k1", group_key="k1", title="DB down")],
    )
    return Incident.objects.get(pk=result.incident_ids[0])


def page_status(incident: Incident) -> list[tuple[str, str, str]]:
    return list(
        Message.objects.filter(incident=incident, purpose=Message.Purpose.PAGE).values_list(
            "kind", "destination", "status"
        )
    )


def metrics() -> dict[str, str]:
    response = Client().get("/metrics")
    assert response.status_code == 200
    return metric_lines(response.content.decode())


def test_paging_steps_run_first_in_their_explicit_order(db) -> None:
    names = [step.name for step in tick_steps()]
    assert names[:2] == [ESCALATION, DISPATCH]
    assert {"incident_changes", "slack_rate_holds", "shift_reminders", "swaps_expire"} <= set(names)
    orders = [step.order for step in tick_steps()]
    assert orders == sorted(orders) and orders[:2] == [10, 20]


@pytest.mark.django_db
def test_a_failing_step_does_not_stop_pages_and_is_counted_and_shown(
    clock, channel: RecordingChannel, steps, caplog
) -> None:
    # Order 1: it runs before escalation and dispatch, as a badly placed step could.
    steps("broken", failing(RuntimeError(SECRET)), order=1)
    incident = incident_paging_alice()

    with caplog.at_level("ERROR", logger="paging.engine"):
        tick()

    # The page went out in the same tick.
    assert [(s.kind, s.destination) for s in channel.sent] == [("sms", PHONE)]
    assert page_status(incident) == [("sms", PHONE, "sent")]
    assert "engine tick step 'broken' failed" in caplog.text
    assert SECRET in caplog.text  # the full text is in the log

    m = metrics()
    assert m['oncall_engine_step_failures_total{step="broken"}'] == "1"
    assert m['oncall_engine_step_failures_total{step="dispatch"}'] == "0"
    assert m['oncall_engine_step_failures_total{step="escalation"}'] == "0"

    response = Client().get("/healthz", HTTP_AUTHORIZATION=HEALTHZ_AUTH)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["reasons"] == ["tick step broken is failing (RuntimeError)"]
    assert body["steps"]["broken"]["status"] == "failing"
    assert body["steps"]["broken"]["error"] == "RuntimeError"
    assert body["steps"]["broken"]["failures_total"] == 1
    assert body["steps"][DISPATCH] == {"status": "ok", "critical": True}
    assert SECRET not in response.content.decode()  # /healthz is public

    staff = Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))
    row = EngineStep.objects.get(name="broken")
    for url in ["/admin/paging/enginestep/", f"/admin/paging/enginestep/{row.pk}/change/"]:
        page = staff.get(url)
        assert page.status_code == 200, url
    assert SECRET in page.content.decode()  # staff read the full text in the admin

    clock.shift(timedelta(seconds=2))
    tick()
    assert metrics()['oncall_engine_step_failures_total{step="broken"}'] == "2"

    # Fixed (a deploy): the next tick clears it, the counter keeps its history.
    steps("broken", lambda: 0, order=1)
    clock.shift(timedelta(seconds=2))
    tick()
    row = EngineStep.objects.get(name="broken")
    assert (row.failures_total, row.failing) == (2, False)
    assert row.last_ok_at == T0 + timedelta(seconds=4)
    body = Client().get("/healthz", HTTP_AUTHORIZATION=HEALTHZ_AUTH).json()
    assert (body["status"], body["reasons"], body["steps"]["broken"]["status"]) == ("ok", [], "ok")
    assert metrics()['oncall_engine_step_failures_total{step="broken"}'] == "2"


@pytest.mark.django_db
@pytest.mark.parametrize("critical", [ESCALATION, DISPATCH])
def test_a_failing_paging_step_makes_healthz_503(
    clock, channel: RecordingChannel, steps, critical: str
) -> None:
    real = paging.engine._STEPS[critical]
    steps(critical, failing(ValueError(SECRET)), order=real.order)
    tick()

    response = Client().get("/healthz", HTTP_AUTHORIZATION=HEALTHZ_AUTH)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["reasons"] == [f"tick step {critical} is failing (ValueError)"]
    assert body["steps"][critical]["status"] == "failing"
    assert SECRET not in response.content.decode()
    assert metrics()[f'oncall_engine_step_failures_total{{step="{critical}"}}'] == "1"

    # The other paging step still ran: an incident is escalated, or a due page is sent.
    incident = incident_paging_alice()
    tick()
    if critical == ESCALATION:
        assert page_status(incident) == []  # never escalated, so nothing to send
        message_enqueue(
            idempotency_key="notice", purpose="notice", kind="sms", destination=PHONE, body="hi"
        )
        tick()
        assert [s.body for s in channel.sent] == ["hi"]
    else:
        assert page_status(incident) == [("sms", PHONE, "pending")]
        assert channel.sent == []

    steps(critical, real.fn, order=real.order)
    clock.shift(timedelta(seconds=2))
    tick()
    assert page_status(incident) == [("sms", PHONE, "sent")]
    response = Client().get("/healthz", HTTP_AUTHORIZATION=HEALTHZ_AUTH)
    assert (response.status_code, response.json()["status"]) == (200, "ok")


@pytest.mark.django_db
def test_a_failure_recorded_by_another_process_during_a_good_tick_stays(clock, steps) -> None:
    def other_worker_fails_escalation() -> int:
        # Another process: its escalation run fails after this tick's run succeeded.
        clock.shift(timedelta(seconds=1))
        paging.engine._failure_record(ESCALATION, RuntimeError("db"))
        return 0

    steps("other_worker", other_worker_fails_escalation, order=90)
    tick()
    assert EngineStep.objects.get(name=ESCALATION).failing
    assert Client().get("/healthz", HTTP_AUTHORIZATION=HEALTHZ_AUTH).status_code == 503
    paging.engine.unregister_tick_step("other_worker")
    tick()  # a good run after that failure clears it
    assert not EngineStep.objects.get(name=ESCALATION).failing
    assert Client().get("/healthz", HTTP_AUTHORIZATION=HEALTHZ_AUTH).status_code == 200


@pytest.mark.django_db
def test_a_step_with_order_5_runs_before_escalation_and_dispatch(clock, channel, steps) -> None:
    seen: dict[str, list[str]] = {}

    def snapshot(name: str) -> Callable[[], int]:
        def step() -> int:
            seen[name] = sorted(Message.objects.values_list("status", flat=True))
            return 0

        return step

    # Registered out of order on purpose: the order argument decides.
    steps("after_dispatch", snapshot("after_dispatch"), order=25)
    steps("between", snapshot("between"), order=15)
    steps("first", snapshot("first"), order=5)
    incident_paging_alice()
    tick()
    assert seen == {
        "first": [],  # escalation has not run: no page written yet
        "between": ["pending"],  # escalated, not dispatched
        "after_dispatch": ["sent"],
    }
    assert [s.name for s in tick_steps()][:4] == ["first", ESCALATION, "between", DISPATCH]


@pytest.mark.django_db
def test_rows_written_by_a_step_after_dispatch_leave_in_the_same_tick(clock, channel, steps):
    def late_writer() -> int:
        message_enqueue(
            idempotency_key="late", purpose="notice", kind="sms", destination=PHONE, body="late"
        )
        return 1

    steps("late_writer", late_writer, order=90)
    tick()
    assert [s.body for s in channel.sent] == ["late"]
    assert Message.objects.get(idempotency_key="late").status == "sent"


@pytest.mark.django_db
def test_an_idle_tick_costs_one_query_for_step_bookkeeping(clock, channel) -> None:
    tick()  # the first tick creates the heartbeat row
    with CaptureQueriesContext(connection) as queries:
        tick()
    sql = [q["sql"] for q in queries.captured_queries]
    # The recovery UPDATE (matches no row while nothing fails); no write per step.
    assert sum("paging_enginestep" in s for s in sql) == 1
    assert sum("paging_engineheartbeat" in s for s in sql) == 1  # one UPDATE
    assert not EngineStep.objects.exists()


# The exact statements of a tick in autocommit (a worker), BEGIN/COMMIT included, with
# the dispatcher inline (its pool threads would use connections of their own).
# Empty: one indexed question per step (escalation, dispatch, bridges, webhooks,
# unresolved notices, swaps), the
# recovery UPDATE and the heartbeat UPDATE. One due incident on PostgreSQL: escalation
# 1 + 10 (claim, policy check, rules, incident UPDATE; outbox, timeline and assignees go
# by COPY, not counted here), dispatch 11 (claim, throttle, lease, re-check under lock,
# sent, timeline line), then the 6 of an empty tick's later steps.
TICK_STATEMENTS = {
    "empty": {"sqlite": 8, "postgresql": 8},
    "one_due": {"sqlite": 29, "postgresql": 26},
    # A kicked tick: no swap or unresolved scan, no recoveries UPDATE, no heartbeat.
    "one_due_kicked": {"sqlite": 25, "postgresql": 22},
}


@pytest.mark.django_db(transaction=True)
def test_an_empty_tick_asks_one_question_per_step_and_writes_the_heartbeat(
    clock, channel, settings, django_assert_num_queries
) -> None:
    settings.DISPATCH_CONCURRENCY = 1
    tick()  # the first tick creates the heartbeat row (and runs the periodic scans)
    with django_assert_num_queries(TICK_STATEMENTS["empty"][connection.vendor]):
        assert tick() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kicked", [False, True], ids=["full", "kicked"])
def test_a_tick_with_one_due_incident_costs_a_fixed_number_of_statements(
    clock, channel, settings, django_assert_num_queries, kicked: bool
) -> None:
    settings.DISPATCH_CONCURRENCY = 1
    first = incident_paging_alice()
    tick()  # binds the policy's first version, the heartbeat row
    alerts_ingest(
        integration=first.alerts.get().integration,
        events=[AlertEvent(action="trigger", alert_key="k2", group_key="k2", title="Disk full")],
    )
    beat = EngineHeartbeat.objects.get()
    clock.shift(timedelta(seconds=1))
    pinned = TICK_STATEMENTS["one_due_kicked" if kicked else "one_due"][connection.vendor]
    with django_assert_num_queries(pinned):
        assert tick(kicked=kicked) == 2  # the incident escalated, its page sent
    assert [(s.destination, s.incident_id) for s in channel.sent][-1] == (
        PHONE,
        Incident.objects.get(dedup_key="k2").pk,
    )
    # A kicked tick leaves the heartbeat to beat's full ticks.
    assert (EngineHeartbeat.objects.get().last_tick_at == beat.last_tick_at) is kicked


@pytest.mark.django_db
def test_kicked_ticks_run_the_steps_commits_need_and_full_ticks_every_step(
    steps, monkeypatch
) -> None:
    ran: list[str] = []
    monkeypatch.setattr(paging.engine, "_STEPS", {})
    steps("on_commit", lambda: ran.append("on_commit") or 0, order=30)
    steps("clock_scan", lambda: ran.append("clock_scan") or 0, order=40, on_kick=False)
    tick(kicked=True)
    assert ran == ["on_commit"]
    ran.clear()
    tick()
    assert ran == ["on_commit", "clock_scan"]


def test_swap_expiry_is_a_clock_driven_scan_and_paging_runs_on_kicks(db) -> None:
    on_kick = {step.name: step.on_kick for step in tick_steps()}
    assert on_kick["swaps_expire"] is False
    assert on_kick[ESCALATION] and on_kick[DISPATCH] and on_kick["incident_changes"]


@pytest.mark.django_db
def test_a_coalesced_kick_runs_a_kicked_tick_beat_and_uncoalesced_kicks_full_ones(
    monkeypatch,
) -> None:
    seen: list[bool] = []
    monkeypatch.setattr(paging.tasks, "tick", lambda *, kicked=False: seen.append(kicked) or 0)
    monkeypatch.setattr(paging.tasks, "kick_pending_take", lambda: None)
    paging.tasks.engine_tick()  # beat
    paging.tasks.engine_tick(coalesced=True)  # a coalesced kick
    # An uncoalesced kick no tick has covered: a full tick, whose heartbeat lets later
    # kicks see they were covered.
    paging.tasks.engine_tick(kicked_at=0.0)
    assert seen == [False, True, False]


# --- Dead-worker detection ------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_degraded_after_two_missed_ticks_then_503_when_stale(clock, settings) -> None:
    settings.ENGINE_TICK_SECONDS = 2
    settings.ENGINE_STALE_SECONDS = 60
    tick()
    clock.shift(timedelta(seconds=4))
    response = Client().get("/healthz", HTTP_AUTHORIZATION=HEALTHZ_AUTH)
    assert (response.status_code, response.json()["status"]) == (200, "ok")

    clock.shift(timedelta(seconds=1))  # 5 s > 2 x 2 s
    response = Client().get("/healthz", HTTP_AUTHORIZATION=HEALTHZ_AUTH)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["reasons"] == [
        "no engine tick for 5 s (expected every 2 s): is the worker (or beat) running?"
    ]
    assert body["engine"]["ok"] is True

    clock.shift(timedelta(seconds=56))  # 61 s
    response = Client().get("/healthz", HTTP_AUTHORIZATION=HEALTHZ_AUTH)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["reasons"] == ["no engine tick for 61 s: pages are not going out"]
    assert body["engine"]["ok"] is False

    tick()  # the worker is back
    response = Client().get("/healthz", HTTP_AUTHORIZATION=HEALTHZ_AUTH)
    assert (response.status_code, response.json()["status"]) == (200, "ok")


# --- Database errors inside a step (PostgreSQL aborts the transaction) ------------------


def _db_error_steps(steps, kind: str) -> None:
    def bad_sql() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")
        return 0

    def kill_connection() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return 0

    steps("bad_db", bad_sql if kind == "bad_sql" else kill_connection, order=1)


@pytest.mark.postgres
@pytest.mark.django_db
def test_bad_sql_in_a_step_inside_a_transaction_does_not_break_the_next_steps(
    channel, steps
) -> None:
    # pytest-django runs this test inside a transaction: without a savepoint per step,
    # every later query would fail with "current transaction is aborted".
    _db_error_steps(steps, "bad_sql")
    incident = incident_paging_alice()
    tick()
    assert page_status(incident) == [("sms", PHONE, "sent")]
    assert [s.destination for s in channel.sent] == [PHONE]
    row = EngineStep.objects.get(name="bad_db")
    assert (row.failures_total, row.last_error_class) == (1, "ProgrammingError")
    assert "no_such_table" in row.last_error


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["bad_sql", "kill_connection"])
def test_a_db_error_in_a_step_in_autocommit_does_not_break_the_next_steps(
    channel, steps, kind: str
) -> None:
    # As the worker runs it: autocommit. A killed connection is dropped and reopened.
    _db_error_steps(steps, kind)
    incident = incident_paging_alice()
    assert not connection.in_atomic_block
    tick()
    assert page_status(incident) == [("sms", PHONE, "sent")]
    assert [s.destination for s in channel.sent] == [PHONE]
    row = EngineStep.objects.get(name="bad_db")
    assert row.failures_total == 1
    assert row.last_error_class == ("ProgrammingError" if kind == "bad_sql" else "OperationalError")
    assert Client().get("/healthz", HTTP_AUTHORIZATION=HEALTHZ_AUTH).json()["status"] == "degraded"
