"""Hand-built statements for the engine's hot path, from the models' metadata.

Compiling an ORM query costs more CPU than PostgreSQL spends running these (a claim,
a fenced update of one row, the policy check), and the engine runs them for every
tick or page. So the statements are built once per process and only the parameters
change:

- ``row_update`` writes one row (each page: its attempt, its outcome, fenced by the
  claim token); values are prepared by the fields as the ORM would
  (``get_db_prep_save``). Like ``QuerySet.update`` it sends no signals.
- ``columns`` and ``from_row`` read whole rows of a model from a hand-built SELECT
  (joins included) and turn them into instances with the fields' own converters, as
  the ORM's iterator does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper

from paging.ingest_sql import concrete_field, quoted, quoted_column

M = TypeVar("M", bound=models.Model)


def _wrapper() -> BaseDatabaseWrapper:
    # The wrapper itself, not the ``connection`` proxy (a context-local lookup per read).
    return connections[DEFAULT_DB_ALIAS]


_update_cache: dict[tuple[str, type[models.Model], tuple[str, ...], tuple[str, ...]], str] = {}


def _update_sql(model: type[models.Model], where: tuple[str, ...], values: tuple[str, ...]) -> str:
    meta = model._meta
    assign = ", ".join(f"{quoted_column(concrete_field(model, name))} = %s" for name in values)
    match = " AND ".join(f"{quoted_column(concrete_field(model, name))} = %s" for name in where)
    return f"UPDATE {quoted(meta.db_table)} SET {assign} WHERE {match}"  # noqa: S608 - names from model meta


def row_update(
    model: type[models.Model], *, where: Mapping[str, Any], values: Mapping[str, Any]
) -> int:
    """``UPDATE model SET values WHERE where`` (equalities, joined by AND, none of them
    NULL); returns how many rows changed."""
    wrapper = _wrapper()
    key = (wrapper.vendor, model, tuple(where), tuple(values))
    sql = _update_cache.get(key)
    if sql is None:
        sql = _update_cache[key] = _update_sql(model, key[2], key[3])
    params = [concrete_field(model, n).get_db_prep_save(v, wrapper) for n, v in values.items()]
    for name, value in where.items():
        assert value is not None, f"{name} = NULL never matches"
        params.append(concrete_field(model, name).get_db_prep_value(value, wrapper, prepared=False))
    with wrapper.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def columns(model: type[models.Model], alias: str) -> str:
    """``alias."col", …`` of every concrete field, in ``from_row``'s order."""
    return ", ".join(f"{alias}.{quoted_column(f)}" for f in model._meta.concrete_fields)


def column_count(model: type[models.Model]) -> int:
    return len(model._meta.concrete_fields)


Converter = Callable[[Any, Any, Any], Any]
_converters_cache: dict[tuple[type[models.Model], str], list[tuple[int, list[Converter], Any]]] = {}


def _converters(model: type[models.Model]) -> list[tuple[int, list[Converter], Any]]:
    """(column index, converters, column) of the fields whose values the ORM converts
    (JSON, and datetimes on SQLite): the same for every connection of a backend."""
    wrapper = _wrapper()
    key = (model, wrapper.vendor)
    found = _converters_cache.get(key)
    if found is None:
        found = []
        for index, field in enumerate(model._meta.concrete_fields):
            col = field.cached_col
            convert = wrapper.ops.get_db_converters(col) + col.get_db_converters(wrapper)
            if convert:
                found.append((index, convert, col))
        _converters_cache[key] = found
    return found


@functools.cache
def _attnames(model: type[models.Model]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


def from_row(model: type[M], values: Sequence[Any]) -> M | None:
    """An instance from the ``columns(model, …)`` part of a row; None when its primary
    key is NULL (a LEFT JOIN that found nothing)."""
    meta = model._meta
    if values[meta.concrete_fields.index(meta.pk)] is None:
        return None
    converted = list(values)
    wrapper = _wrapper()
    for index, convert, col in _converters(model):
        for converter in convert:
            converted[index] = converter(converted[index], col, wrapper)
    return model.from_db(DEFAULT_DB_ALIAS, _attnames(model), converted)


def from_rows(model: type[M], rows: Sequence[Sequence[Any]]) -> list[M]:
    """``from_row`` of whole rows, none of them NULL."""
    return [instance for row in rows if (instance := from_row(model, row)) is not None]
