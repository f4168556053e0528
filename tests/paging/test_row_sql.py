"""paging.row_sql and paging.bulk: hand-built statements read and write rows exactly as
the ORM does, and show in query counts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext

from paging.bulk import INSERT_MAX_ROWS, tuples_insert
from paging.models import Incident, IncidentEvent, Message, Service
from paging.row_sql import column_count, columns, from_row, from_rows, row_update
from tests.paging.factories import IncidentFactory, ServiceFactory

pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 3, 2, 3, 0, 12, 345678, tzinfo=UTC)


def _select(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_from_row_gives_the_instance_the_orm_gives() -> None:
    incident = IncidentFactory(
        details={"labels": {"a": "1"}, "n": [1, 2]},
        links=[{"href": "https://x.test"}],
        next_due_at=WHEN,
        escalation_policy=None,
    )
    table, service = Incident._meta.db_table, Service._meta.db_table
    rows = _select(
        f"SELECT {columns(Incident, 'i')}, {columns(Service, 's')} FROM {table} i"  # noqa: S608
        f" JOIN {service} s ON s.id = i.service_id WHERE i.id = %s",
        [incident.pk],
    )
    built = from_row(Incident, rows[0][: column_count(Incident)])
    again = Incident.objects.get(pk=incident.pk)
    assert built is not None
    for field in Incident._meta.concrete_fields:
        assert getattr(built, field.attname) == getattr(again, field.attname), field.name
    assert built.details == {"labels": {"a": "1"}, "n": [1, 2]}  # JSON decoded
    assert built.next_due_at == WHEN  # an aware datetime, on SQLite too
    assert not built._state.adding
    assert from_row(Service, rows[0][column_count(Incident) :]) == incident.service


def test_from_row_of_a_left_join_that_found_nothing_is_none() -> None:
    ServiceFactory()
    nothing = (None,) * column_count(Incident)
    assert from_row(Incident, nothing) is None
    assert from_rows(Incident, [nothing]) == []


def test_row_update_changes_only_the_rows_that_match_every_condition() -> None:
    message = Message.objects.create(
        idempotency_key="k1", purpose="page", kind="sms", destination="+1", body="b",
        status=Message.Status.SENDING, claim_token="t1", due_at=WHEN,
    )  # fmt: skip
    held = {"id": message.pk, "claim_token": "t2", "status": Message.Status.SENDING}
    assert row_update(Message, where=held, values={"attempts": 3}) == 0  # not our lease
    held["claim_token"] = "t1"
    values = {"attempts": 3, "sent_at": WHEN, "lease_expires_at": None, "last_error": ""}
    assert row_update(Message, where=held, values=values) == 1
    message.refresh_from_db()
    assert (message.attempts, message.sent_at, message.lease_expires_at) == (3, WHEN, None)
    with pytest.raises(AssertionError):
        row_update(Message, where={"id": message.pk, "claim_token": None}, values={"attempts": 1})


def _events(incident: Incident, count: int) -> list[tuple]:
    return [
        (incident.pk, "note", WHEN, None, "", None, f"line {n}", {"n": 1}) for n in range(count)
    ]


EVENT_COLUMNS = ("incident_id", "kind", "at", "actor_id", "via", "message_id", "text", "data")


@pytest.mark.postgres
@pytest.mark.parametrize(("rows", "statement"), [(3, "INSERT"), (INSERT_MAX_ROWS + 1, "COPY")])
def test_bulk_rows_insert_is_one_logged_statement_either_way(rows: int, statement: str) -> None:
    """A few rows go in one multi-row INSERT; more by COPY, which Django's cursor does not
    log: ``tuples_insert`` logs it itself, so query counts include it."""
    incident = IncidentFactory()
    with CaptureQueriesContext(connection) as queries:
        tuples_insert(
            IncidentEvent, EVENT_COLUMNS, _events(incident, rows), json_columns=frozenset({"data"})
        )
    assert [q["sql"].split()[0] for q in queries.captured_queries] == [statement]
    written = IncidentEvent.objects.filter(incident=incident, kind="note")
    assert written.count() == rows
    assert written.first().data == {"n": 1}


@pytest.mark.postgres
def test_bulk_insert_is_one_statement_text_whatever_the_row_count() -> None:
    """Arrays per column, not a VALUES list per row: psycopg converts the text once and
    the server prepares it once, for 1 row as for 50. Values arrive as written: NULLs,
    JSON, timestamps with their microseconds, text with quotes and braces."""
    incident = IncidentFactory()
    rows = [
        (incident.pk, "note", WHEN, None, "", None, 'say "hi" {x}', {"n": [1, None]}),
        (incident.pk, "note", WHEN, None, "sms", None, "", {}),
        (incident.pk, "note", WHEN, None, "", None, "NULL", None),
    ]
    texts: list[str] = []

    def sent(execute, sql, params, many, context):  # the text as psycopg gets it
        texts.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(sent):
        for chunk in (rows[:1], rows[1:]):
            tuples_insert(IncidentEvent, EVENT_COLUMNS, chunk, json_columns=frozenset({"data"}))
    assert len(texts) == 2 and texts[0] == texts[1] and texts[0].count("%s") == 8
    written = list(
        IncidentEvent.objects.filter(incident=incident, kind="note")
        .order_by("id")
        .values_list("at", "via", "text", "data", "actor_id")
    )
    assert written == [
        (WHEN, "", 'say "hi" {x}', {"n": [1, None]}, None),
        (WHEN, "sms", "", {}, None),
        (WHEN, "", "NULL", None, None),
    ]


@pytest.mark.postgres
@pytest.mark.parametrize("rows", [1, INSERT_MAX_ROWS + 1])
def test_bulk_insert_refuses_a_value_too_long_for_its_column_either_way(rows: int) -> None:
    """The arrays are cast without a length: a value longer than its column is refused
    (as COPY refuses it), not cut short into another value."""
    incident = IncidentFactory()
    too_long = [(incident.pk, "note", WHEN, None, "v" * 33, None, "", {})] * rows  # via: 32
    with pytest.raises(DataError), transaction.atomic():
        tuples_insert(IncidentEvent, EVENT_COLUMNS, too_long, json_columns=frozenset({"data"}))
    assert not IncidentEvent.objects.filter(kind="note").exists()
