"""Shared fixtures: a frozen clock (``clock``; a folder or module overrides
``clock_start`` for another "now") and a recording channel in place of the console
(``channel``), the test client signed in as a superuser "root" (``admin_client_``).
The shared cast and alert firing are functions in ``tests/support.py``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test import Client

from tests.factories import UserFactory
from tests.support import T0, RecordingChannel


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
def _orm_beside_playwright(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Browser tests: Playwright's sync API runs an event loop in the test's thread, and
    the test's own ORM calls are still synchronous (Django would refuse them)."""
    if request.node.get_closest_marker("browser") is not None:
        monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def admin_client_(client: Client) -> Client:
    """The test client signed in as a superuser made by the factory (username "root")."""
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """API throttle counters live in the cache: each test starts with none."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def clock_start() -> datetime:
    return T0


@pytest.fixture
def clock(clock_start: datetime) -> Iterator[time_machine.Traveller]:
    with time_machine.travel(clock_start, tick=False) as traveller:
        yield traveller


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> RecordingChannel:
    recording = RecordingChannel()
    # Patched where it is used: the outbox module.
    monkeypatch.setattr("paging.outbox.channel_for", lambda kind: recording)
    return recording
