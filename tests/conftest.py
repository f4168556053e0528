"""Shared fixtures: a small named cast (staff, engineer, teammate, outsider)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL=postgres://…)")
    skip_e2e = pytest.mark.skip(
        reason="needs PostgreSQL and a broker (DATABASE_URL and CELERY_BROKER_URL)"
    )
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_pg)
        if "e2e" in item.keywords and (not on_postgres or settings.EMBEDDED_MODE):
            item.add_marker(skip_e2e)


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """API throttle counters live in the cache: each test starts with none."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"
