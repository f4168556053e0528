"""Fast inserts for the engine's hot path: COPY on PostgreSQL, bulk_create elsewhere.

Building thousands of model instances and INSERT parameters costs more than the
database work; the engine writes plain tuples instead. A few rows (a kicked tick's
pages and timeline lines) go in one INSERT: one round trip, where COPY takes two and
more work to set up on the server.

On PostgreSQL that INSERT reads one array per column (``SELECT * FROM unnest(…)``), not
a ``VALUES`` list per row: its text is the same whatever the row count, so psycopg
converts it once (it re-parses a statement of more than 50 parameters every time) and
the server prepares it once, instead of one statement shape per row count.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

from django.db import connection, models
from psycopg.types.json import Jsonb

from paging.ingest_sql import concrete_field, quoted, quoted_column, sql_once

# Up to this many rows: one INSERT; more: COPY.
INSERT_MAX_ROWS = 50
_LENGTH = re.compile(r"\(\d+(, *\d+)?\)$")


def tuples_insert(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    json_columns: frozenset[str] = frozenset(),
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order; column = field attname)."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        json_at = [i for i, c in enumerate(columns) if c in json_columns]
        if len(rows) <= INSERT_MAX_ROWS:
            arrays: list[list[Any]] = [[] for _ in columns]
            for row in rows:
                for i, value in enumerate(row):
                    arrays[i].append(Jsonb(value) if i in json_at else value)
            with connection.cursor() as cursor:
                cursor.execute(sql_once(_unnest_insert_sql, model, tuple(columns)), arrays)
            return
        names = ", ".join(quoted(c) for c in columns)
        sql = f"COPY {quoted(model._meta.db_table)} ({names}) FROM STDIN"  # noqa: S608 - names from model meta
        started = time.monotonic()
        # COPY bypasses Django's cursor wrapper: its errors are made Django's here too.
        with (
            connection.wrap_database_errors,
            connection.cursor() as cursor,
            cursor.cursor.copy(sql) as copy,
        ):
            for row in rows:
                if json_at:
                    row = list(row)
                    for i in json_at:
                        row[i] = Jsonb(row[i])
                copy.write_row(row)
        if connection.queries_logged:
            # COPY bypasses Django's cursor wrapper: log it as the wrapper logs a statement,
            # so query counts (tests, the debug toolbar) see it.
            elapsed = time.monotonic() - started
            connection.queries_log.append(
                {"sql": f"{sql} -- {len(rows)} rows", "time": f"{elapsed:.3f}"}
            )
        return
    model._default_manager.bulk_create(
        [model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=500
    )


def _unnest_insert_sql(model: type[models.Model], columns: tuple[str, ...]) -> str:
    """``INSERT … SELECT * FROM unnest(%s::type[], …)``: one array parameter per column."""
    fields = [concrete_field(model, c) for c in columns]
    names = ", ".join(quoted_column(f) for f in fields)
    # Without a length (varchar(32) -> varchar): an explicit cast would cut a long
    # value short, where the column's own assignment refuses it as VALUES and COPY do.
    arrays = ", ".join(f"%s::{_LENGTH.sub('', str(f.db_type(connection)))}[]" for f in fields)
    return f"INSERT INTO {quoted(model._meta.db_table)} ({names}) SELECT * FROM unnest({arrays})"  # noqa: S608 - names from model meta
