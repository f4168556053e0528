"""Hand-built single-row statements for the dispatcher's hot path.

Each page sent writes its row three times (the attempt, the outcome, fenced by the
claim token) and compiling those ORM updates cost more CPU than PostgreSQL spent
running them. ``row_update`` builds the statement once per process for each shape
(model, the columns compared, the columns set), from the models' metadata, and only
the parameters change; values are prepared by the fields as the ORM would
(``get_db_prep_save``). Like ``QuerySet.update`` it sends no signals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import models

from paging.ingest_sql import _wrapper, quoted

_update_cache: dict[tuple[str, type[models.Model], tuple[str, ...], tuple[str, ...]], str] = {}


def _update_sql(model: type[models.Model], where: tuple[str, ...], values: tuple[str, ...]) -> str:
    meta = model._meta
    assign = ", ".join(f"{quoted(meta.get_field(name).column)} = %s" for name in values)
    match = " AND ".join(f"{quoted(meta.get_field(name).column)} = %s" for name in where)
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
    meta = model._meta
    params = [meta.get_field(name).get_db_prep_save(v, wrapper) for name, v in values.items()]
    for name, value in where.items():
        assert value is not None, f"{name} = NULL never matches"
        params.append(meta.get_field(name).get_db_prep_value(value, wrapper, prepared=False))
    with wrapper.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
