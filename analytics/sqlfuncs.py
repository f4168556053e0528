"""Database expressions the metrics need: durations in seconds and exact percentiles."""

from __future__ import annotations

from typing import Any

from django.db.models import Aggregate, FloatField, Func
from django.db.models.expressions import Expression


class EpochSeconds(Func):
    """``end - start`` in seconds (NULL when either is NULL), as a float.

    PostgreSQL: date_part of the interval (double precision). SQLite stores
    datetimes as text; julianday() is a float of days, so the result is rounded to
    the millisecond to remove the binary noise.
    """

    output_field = FloatField()
    arity = 2

    def __init__(self, end: Any, start: Any, **extra: Any) -> None:
        super().__init__(end, start, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # date_part() is double precision already (EXTRACT is numeric since PostgreSQL
        # 14, several times slower to compute and sort); microseconds stay exact.
        return self.as_sql(
            compiler,
            connection,
            template="date_part('epoch', %(expressions)s)",
            arg_joiner=" - ",
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="(ROUND((JULIANDAY(%(expressions)s)) * 86400000.0) / 1000.0)",
            arg_joiner=") - JULIANDAY(",
            **extra,
        )


class PercentileCont(Aggregate):
    """PostgreSQL's exact ``percentile_cont(f) WITHIN GROUP (ORDER BY expr)``.

    Several of them over the same expression share one sort in PostgreSQL.
    Other databases: use ``analytics.percentiles.percentile_cont`` on ordered values.
    """

    function = "PERCENTILE_CONT"
    name = "PercentileCont"
    output_field = FloatField()
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Expression | str, fraction: float, **extra: Any) -> None:
        fraction = float(fraction)
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("fraction must be within [0, 1]")
        # A float literal rendered by repr(): never user text, so safe in the SQL.
        super().__init__(expression, fraction=repr(fraction), **extra)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        if connection.vendor != "postgresql":
            raise NotImplementedError("percentile_cont is computed in SQL on PostgreSQL only")
        return super().as_sql(compiler, connection, **extra)
