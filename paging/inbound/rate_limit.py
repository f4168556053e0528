"""Per-integration rate limit of the inbound endpoints, kept in the database.

Each integration accepts ``Integration.rate_limit_per_minute`` requests per minute (120
by default, PagerDuty's default per integration key; 0 = no limit). One request is one
event, as PagerDuty counts them: one Events API / Change Events call, one SNS message,
one Alertmanager or Grafana webhook message however many alerts it carries (Alertmanager
sends PagerDuty one event per group notification too). Beyond the limit the endpoint
answers 429 with ``Retry-After`` and stores nothing; what was answered 2xx was stored.

The bucket is a GCRA ("generic cell rate algorithm") in one row per integration
(``IntegrationRate.tat``): every accepted request moves ``tat`` forward by
60/limit seconds from ``max(tat, now)``, and a request is refused while that would put
``tat`` more than 60 s ahead of now. That allows a burst of ``limit`` requests, then one
every 60/limit seconds, with no window boundary to game. Taking a slot is a single
``INSERT … ON CONFLICT DO UPDATE … WHERE … RETURNING``, committed at once (before the
ingest's transaction; on PostgreSQL with ``synchronous_commit`` off for that statement's
own transaction, set by the statement itself: one round trip), so every gunicorn process
and thread (and the embedded server on SQLite) shares the bucket, and concurrent
requests serialize on the row for that statement only. A
refused request costs one more UPDATE, which counts it (``limited_total``, on
``/metrics`` as ``oncall_inbound_rate_limited_total``) and reads when a slot frees.

The slot's statement also reads whether the integration still has the request's token,
and its ``rules_version``: the ingest's confirmation (``paging/ingest.py``) without a
statement of its own in the ingest's transaction.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from paging.ingest_sql import concrete_field, quoted, quoted_column, sql_once
from paging.models import Integration, IntegrationRate

WINDOW_SECONDS = 60.0
# Float sums of 60/limit must not refuse the limit-th request of a burst.
_EPSILON = 1e-6


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_after: int = 0  # whole seconds until a request would be accepted (refused only)
    # Read by the statement that took the slot: whether the integration still has the
    # token it was looked up by, and then its ``rules_version`` (the ingest's
    # confirmation, ``paging/ingest.py``, without a statement of its own). None: no
    # statement ran (no limit), or the token is gone.
    token_current: bool | None = None
    rules_version: int | None = None


def _greatest() -> str:
    return "GREATEST" if connection.vendor == "postgresql" else "MAX"


def _take_sql(async_commit: bool) -> str:
    """The slot-taking upsert; ``async_commit`` (PostgreSQL, autocommit): the statement
    turns ``synchronous_commit`` off for its own implicit transaction (``set_config``
    local to it, read back in by the INSERT so it runs first), so no BEGIN, SET and
    COMMIT round trips."""
    table = quoted(IntegrationRate._meta.db_table)
    tat = f"{_greatest()}({table}.tat, %s)"
    integration = quoted(Integration._meta.db_table)
    rules = quoted_column(concrete_field(Integration, "rules_version"))
    token = quoted_column(concrete_field(Integration, "token"))
    version = f"(SELECT {rules} FROM {integration} WHERE id = %s AND {token} = %s)"  # noqa: S608
    conflict = (
        f"ON CONFLICT (integration_id) DO UPDATE SET tat = {tat} + %s "
        f"WHERE {tat} + %s <= %s RETURNING tat, {version}"
    )
    if async_commit:
        local = "WITH local AS (SELECT set_config('synchronous_commit', 'off', true) AS off) "
        return (
            f"{local}INSERT INTO {table} (integration_id, tat, limited_total) "  # noqa: S608
            f"SELECT %s, %s, 0 FROM local {conflict}"
        )
    return (
        f"INSERT INTO {table} (integration_id, tat, limited_total) VALUES (%s, %s, 0) "  # noqa: S608
        + conflict
    )


def _refused_sql() -> str:
    table = quoted(IntegrationRate._meta.db_table)
    return (
        f"UPDATE {table} SET limited_total = limited_total + 1, last_limited_at = %s "  # noqa: S608
        "WHERE integration_id = %s RETURNING tat"
    )


def inbound_rate_take(*, integration: Integration) -> RateDecision:
    """Take one request's slot of the integration's limit, or say when to come back.

    Runs its own statement(s) in autocommit: call it outside any transaction, before
    the ingest, so a refused request writes nothing else. IntegrityError when the
    integration no longer exists (deleted since it was looked up). The same statement
    says whether the integration still has its token (``token_current``).
    """
    limit = integration.rate_limit_per_minute
    if not limit:
        return RateDecision(allowed=True)
    moment = timezone.now()
    now = moment.timestamp()
    step = WINDOW_SECONDS / limit
    horizon = now + WINDOW_SECONDS + _EPSILON
    # On PostgreSQL in autocommit the statement is its own transaction, committed
    # without waiting for the WAL flush: the flush doubled a request's latency (~4 ms
    # more per request, measured), and a crash can only forget the last fraction of a
    # second of bucket moves. Inside a caller's transaction (tests, scripts) it is a
    # savepoint, so a failure does not break the caller's, and the caller's transaction
    # keeps its own durability. SQLite: one autocommit statement.
    nested = connection.in_atomic_block
    async_commit = connection.vendor == "postgresql" and not nested
    with transaction.atomic() if nested else nullcontext(), connection.cursor() as cursor:
        cursor.execute(
            sql_once(_take_sql, async_commit),
            [integration.pk, now + step, now, step, now, step, horizon]
            + [integration.pk, integration.token],
        )
        taken = cursor.fetchone()
        if taken is not None:
            return RateDecision(
                allowed=True, token_current=taken[1] is not None, rules_version=taken[1]
            )
        cursor.execute(sql_once(_refused_sql), [moment, integration.pk])
        row = cursor.fetchone()
    tat = float(row[0]) if row else now
    wait = max(tat, now) + step - now - WINDOW_SECONDS
    return RateDecision(allowed=False, retry_after=max(1, math.ceil(wait)))


def rate_limited_totals() -> list[tuple[Integration, int]]:
    """Every integration that has a bucket (it received a request), with its refusals."""
    rates = (
        IntegrationRate.objects.all()
        .select_related("integration__service")
        .order_by("integration_id")
    )
    return [(rate.integration, rate.limited_total) for rate in rates]
