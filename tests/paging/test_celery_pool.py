"""A prefork worker keeps its PostgreSQL connection pool across tasks.

Celery's Django fixup closes every connection before and after each task and, in a prefork
child with a pool, closes the whole pool: the dispatcher's sender threads then met
"pool is closed" on their next claim (26 times in one `cost_per_alert` run), and every tick
opened new server connections. ``CELERY_DB_REUSE_MAX`` makes the fixup keep it.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from celery.fixups.django import DjangoWorkerFixup
from django.db import connection

from oncall.celery import app

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pooled() -> Iterator[None]:
    """This test's connection from a pool, as in a worker (test settings have none)."""
    options = connection.settings_dict.setdefault("OPTIONS", {})
    connection.close()
    options["pool"] = {"min_size": 1, "max_size": 2}
    try:
        yield
    finally:
        connection.close()
        connection.close_pool()
        options.pop("pool", None)


def test_task_boundaries_leave_the_pool_open(pooled: None) -> None:
    fixup = DjangoWorkerFixup(app)
    fixup.worker = SimpleNamespace(pool_cls="celery.concurrency.prefork:TaskPool")
    connection.ensure_connection()
    pool = connection.pool
    assert pool is not None

    for _ in range(3):  # before and after three tasks, as the fixup's signals call it
        fixup.close_database()
        fixup.close_database()

    assert connection.pool is pool
    assert not pool.closed
    with pool.connection() as conn:  # what a sender thread's next claim does
        assert conn.execute("SELECT 1").fetchone() == (1,)
