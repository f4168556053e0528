"""Hand-built SQL for the ingest hot path (``paging/ingest.py``).

Why not the ORM here: compiling a query costs more CPU than the database spends running
it (about half of a whole request on the new-alert path), and the ORM has no
"insert unless it conflicts, tell me the id" in one statement. So the statements are
built once per process from the models' metadata (a column added to a model with a
default is picked up, nothing is hard-coded) and only the parameters change.

- ``row_insert`` writes one row with ``ON CONFLICT DO NOTHING RETURNING …`` (PostgreSQL,
  SQLite >= 3.35): no row back means a unique constraint (e.g. one open incident per
  dedup key) already holds a row, written by a concurrent delivery or earlier. This
  replaces SAVEPOINT + INSERT + RELEASE (3 round trips) by one. Other backends take a
  savepoint-guarded INSERT, the same outcome.
- ``rows_insert_returning`` does the same for many rows in one multi-row INSERT (a
  delivery's new incidents, its new alerts).
- ``rows_insert`` writes many rows in one multi-row INSERT (timeline lines).
- ``sql_once`` keeps any hand-built statement per process and database (the engine's,
  the escalation's, the channels' "anything to do?" questions use it too).

Rows are written without ``Model.save()``: no signals are sent (nothing in the project
listens to Incident, Alert or IncidentEvent saves).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

# Values per multi-row INSERT stay far below SQLite's limit of bound parameters.
MAX_PARAMS_PER_STATEMENT = 4000

_columns_cache: dict[type[models.Model], tuple[models.Field, ...]] = {}
_once: dict[tuple[Any, ...], str] = {}


def sql_once(build: Callable[..., str], *args: Hashable) -> str:
    """``build(*args)`` for this database, built once per process: a statement made from
    model metadata is the same every time, only its parameters change."""
    key = (connection.vendor, build, *args)
    sql = _once.get(key)
    if sql is None:
        sql = _once[key] = build(*args)
    return sql


_head_cache: dict[tuple[str, type[models.Model]], str] = {}


def insert_fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    """The concrete, non-generated columns an INSERT writes (all but an auto pk)."""
    fields = _columns_cache.get(model)
    if fields is None:
        fields = tuple(
            f
            for f in model._meta.concrete_fields
            if not (f.primary_key and isinstance(f, models.AutoField))
            and not getattr(f, "generated", False)
        )
        _columns_cache[model] = fields
    return fields


def quoted(name: str) -> str:
    return connection.ops.quote_name(name)


def concrete_field(model: type[models.Model], name: str) -> models.Field:
    """``model``'s field ``name`` that has a column (``get_field`` also answers reverse
    relations, which have none)."""
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field) and field.column, f"{model.__name__}.{name}"
    return field


def quoted_column(field: models.Field) -> str:
    assert field.column, field  # concrete fields have one
    return quoted(field.column)


def insert_head(model: type[models.Model]) -> str:
    """``INSERT INTO "table" ("col", …) VALUES `` for ``insert_fields(model)``."""
    key = (connection.vendor, model)
    head = _head_cache.get(key)
    if head is None:
        columns = ", ".join(quoted_column(f) for f in insert_fields(model))
        head = f"INSERT INTO {quoted(model._meta.db_table)} ({columns}) VALUES "  # noqa: S608
        _head_cache[key] = head
    return head


def db_value(field: models.Field, value: Any) -> Any:
    """A Python value as the database adapter takes it for ``field``."""
    return field.get_db_prep_save(value, _wrapper())


def _wrapper() -> BaseDatabaseWrapper:
    # The wrapper itself, not the ``connection`` proxy: each attribute read through the
    # proxy is a context-local lookup, and preparing one row reads dozens.
    return connections[DEFAULT_DB_ALIAS]


def row_values(obj: models.Model, wrapper: BaseDatabaseWrapper) -> list[Any]:
    return [f.get_db_prep_save(f.pre_save(obj, True), wrapper) for f in insert_fields(type(obj))]


def on_conflict_supported() -> bool:
    if connection.vendor == "postgresql":
        return True
    return connection.vendor == "sqlite" and sqlite3.sqlite_version_info >= (3, 35)


Expressions = dict[str, tuple[str, list[Any]]]


def _row_sql(
    obj: models.Model, expressions: Expressions | None, wrapper: BaseDatabaseWrapper
) -> tuple[str, list[Any]]:
    """``(…)`` of one row for ``insert_head``, and its parameters."""
    expressions = expressions or {}
    placeholders: list[str] = []
    params: list[Any] = []
    for field in insert_fields(type(obj)):
        if field.attname in expressions:
            fragment, fragment_params = expressions[field.attname]
            placeholders.append(fragment)
            params.extend(fragment_params)
        else:
            placeholders.append("%s")
            params.append(field.get_db_prep_save(field.pre_save(obj, True), wrapper))
    return f"({', '.join(placeholders)})", params


def _returning(model: type[models.Model], names: Sequence[str]) -> str:
    return ", ".join(quoted_column(concrete_field(model, name)) for name in names)


def row_insert(
    obj: models.Model,
    *,
    returning: Sequence[str] = ("id",),
    expressions: Expressions | None = None,
) -> tuple[Any, ...] | None:
    """INSERT ``obj`` unless a unique constraint already holds such a row.

    ``expressions`` replaces the value of some columns (by attname) by an SQL fragment
    with its own parameters, e.g. a sub-select evaluated in the same statement.
    Returns the ``returning`` columns of the new row, or None when it conflicted.
    ``obj`` is not modified (its pk stays None).
    """
    model = type(obj)
    wrapper = _wrapper()
    values, params = _row_sql(obj, expressions, wrapper)
    sql = f"{insert_head(model)}{values}"
    back = _returning(model, returning)
    if on_conflict_supported():
        with wrapper.cursor() as cursor:
            cursor.execute(f"{sql} ON CONFLICT DO NOTHING RETURNING {back}", params)
            row = cursor.fetchone()
        return tuple(row) if row is not None else None
    try:
        with transaction.atomic(), wrapper.cursor() as cursor:
            cursor.execute(f"{sql} RETURNING {back}", params)
            return tuple(cursor.fetchone())
    except IntegrityError:
        return None


def rows_insert_returning(
    objs: Sequence[models.Model],
    *,
    returning: Sequence[str],
    expressions: Sequence[Expressions] | None = None,
) -> list[tuple[Any, ...]]:
    """``row_insert`` for many rows of one model, in one multi-row statement per
    ``MAX_PARAMS_PER_STATEMENT``: the ``returning`` columns of the rows written, in no
    particular order (return a key to match them); rows that conflicted are left out.

    ``expressions[i]`` belongs to ``objs[i]``. Without ON CONFLICT, one savepoint-guarded
    INSERT per row (the same outcome).
    """
    if not objs:
        return []
    if not on_conflict_supported():
        rows = (
            row_insert(
                obj, returning=returning, expressions=expressions[i] if expressions else None
            )
            for i, obj in enumerate(objs)
        )
        return [row for row in rows if row is not None]
    model = type(objs[0])
    head = insert_head(model)
    tail = f" ON CONFLICT DO NOTHING RETURNING {_returning(model, returning)}"
    wrapper = _wrapper()
    out: list[tuple[Any, ...]] = []
    values: list[str] = []
    params: list[Any] = []

    def flush() -> None:
        with wrapper.cursor() as cursor:
            cursor.execute(head + ", ".join(values) + tail, params)
            out.extend(tuple(row) for row in cursor.fetchall())
        values.clear()
        params.clear()

    for i, obj in enumerate(objs):
        row_sql, row_params = _row_sql(obj, expressions[i] if expressions else None, wrapper)
        if values and len(params) + len(row_params) > MAX_PARAMS_PER_STATEMENT:
            flush()
        values.append(row_sql)
        params.extend(row_params)
    flush()
    return out


def rows_insert(objs: Sequence[models.Model]) -> None:
    """INSERT all ``objs`` (one model) in as few statements as the parameter limit allows."""
    if not objs:
        return
    model = type(objs[0])
    fields = insert_fields(model)
    head = insert_head(model)
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = max(1, MAX_PARAMS_PER_STATEMENT // len(fields))
    wrapper = _wrapper()
    with wrapper.cursor() as cursor:
        for start in range(0, len(objs), per_statement):
            chunk = objs[start : start + per_statement]
            params: list[Any] = []
            for obj in chunk:
                params.extend(row_values(obj, wrapper))
            cursor.execute(head + ", ".join([row_sql] * len(chunk)), params)
