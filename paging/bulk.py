"""Fast inserts for the engine's hot path: COPY on PostgreSQL, bulk_create elsewhere.

Building thousands of model instances and INSERT parameters costs more than the
database work; the engine writes plain tuples instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models
from psycopg.types.json import Jsonb


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
        table = connection.ops.quote_name(model._meta.db_table)
        names = ", ".join(connection.ops.quote_name(c) for c in columns)
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(
                f"COPY {table} ({names}) FROM STDIN"  # noqa: S608 - names from model meta
            ) as copy,
        ):
            for row in rows:
                if json_at:
                    row = list(row)
                    for i in json_at:
                        row[i] = Jsonb(row[i])
                copy.write_row(row)
        return
    model._default_manager.bulk_create(
        [model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=500
    )
