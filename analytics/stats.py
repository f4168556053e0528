"""Grouped duration statistics (count, mean, p50/p90/p95) computed by the database.

PostgreSQL: one GROUP BY query with ``percentile_cont`` (exact). SQLite: count and
mean by the same query; the percentiles from the values read back in sorted order
(correct, slower: the fallback the embedded default pays for having no percentile_cont).
"""

from __future__ import annotations

from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Aggregate, Avg, Count, QuerySet

from analytics.grouping import group_columns, group_key_out, group_names
from analytics.percentiles import percentile_cont
from analytics.sqlfuncs import PercentileCont

PERCENTILES: dict[str, float] = {"p50": 0.5, "p90": 0.9, "p95": 0.95}


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)


def grouped_duration_stats(
    *,
    qs: QuerySet[Any],
    by: str,
    tz: ZoneInfo,
    durations: dict[str, Any],
    counts: dict[str, Aggregate] | None = None,
    prefix: str = "",
) -> list[dict[str, Any]]:
    """One row per group: the group key, ``counts`` and, per duration expression
    (seconds, NULL = not applicable), ``{count, mean, p50, p90, p95}``."""
    pg = connection.vendor == "postgresql"
    keys = group_columns(by=by, tz=tz, prefix=prefix)
    aggregates: dict[str, Aggregate] = dict(counts or {})
    for name in durations:
        aggregates[f"{name}__count"] = Count(f"_d_{name}")
        aggregates[f"{name}__mean"] = Avg(f"_d_{name}")
        if pg:
            for label, fraction in PERCENTILES.items():
                aggregates[f"{name}__{label}"] = PercentileCont(f"_d_{name}", fraction)
    base = qs.annotate(**{f"_d_{name}": expr for name, expr in durations.items()})
    if keys:
        rows = list(base.annotate(**keys).values(*keys).annotate(**aggregates).order_by(*keys))
    else:
        rows = [base.aggregate(**aggregates)]
    if not pg:
        _fill_percentiles(rows, base=base, keys=list(keys), durations=durations, key_exprs=keys)
    names = group_names(by=by, ids=(row[k] for row in rows for k in keys)) if keys else {}
    out = []
    for row in rows:
        item: dict[str, Any] = group_key_out(row, by=by, tz=tz, names=names) if keys else {}
        for name in counts or {}:
            item[name] = row[name]
        for name in durations:
            item[name] = {
                "count": row[f"{name}__count"],
                "mean": _round(row[f"{name}__mean"]),
                **{label: _round(row.get(f"{name}__{label}")) for label in PERCENTILES},
            }
        out.append(item)
    return out


def _fill_percentiles(
    rows: list[dict[str, Any]],
    *,
    base: QuerySet[Any],
    keys: list[str],
    durations: dict[str, Any],
    key_exprs: dict[str, Any],
) -> None:
    index = {tuple(row[k] for k in keys): row for row in rows}
    for name in durations:
        field = f"_d_{name}"
        values = (
            base.annotate(**key_exprs)
            .filter(**{f"{field}__isnull": False})
            .values_list(*keys, field)
            .order_by(*keys, field)
        )
        for key, group in groupby(values, key=lambda r: tuple(r[:-1])):
            ordered = [r[-1] for r in group]
            row = index.get(key)
            if row is None:
                continue
            for label, fraction in PERCENTILES.items():
                row[f"{name}__{label}"] = percentile_cont(ordered, fraction)
        for row in rows:
            for label in PERCENTILES:
                row.setdefault(f"{name}__{label}", None)
