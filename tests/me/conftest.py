"""A small cast for /me/: Lena (Europe/Berlin) and Marco share a daily rotation
(09:00 UTC handoffs from Mon 30 Nov 2026) on team Core's schedule "Primary"."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
import time_machine
from django.test import Client

from oncall.people.models import Engineer
from schedules import services
from schedules.models import Schedule
from tests.factories import EngineerFactory, MembershipFactory, TeamFactory

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@dataclass
class Cast:
    lena: Engineer
    marco: Engineer
    schedule: Schedule


def make_cast() -> Cast:
    team = TeamFactory(name="Core", slug="core")
    lena = EngineerFactory(user__username="lena", display_name="Lena", time_zone="Europe/Berlin")
    marco = EngineerFactory(user__username="marco", display_name="Marco", time_zone="UTC")
    for engineer in (lena, marco):
        MembershipFactory(team=team, engineer=engineer)
    schedule = services.schedule_create(team=team, name="Primary", time_zone="UTC")
    services.layer_create(
        schedule=schedule,
        name="Days",
        start_date=date(2026, 11, 30),
        handoff_time=time(9),
        shift_unit="days",
        members=[lena, marco],
    )
    return Cast(lena=lena, marco=marco, schedule=schedule)


@pytest.fixture
def clock_start() -> datetime:
    return T0


@pytest.fixture
def cast(db, clock) -> Cast:
    return make_cast()


# The loopback Twilio of the delivery tests (real twilio client, fake server).
from tests.channels.twilio_email_links.conftest import fake_twilio  # noqa: E402,F401


@pytest.fixture
def live_cast(monkeypatch) -> Iterator[Cast]:
    """The cast, on a clock running from T0 that the live server's threads see too."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with time_machine.travel(T0, tick=True):
        yield make_cast()


@contextmanager
def me_page(live_server, user, size: str) -> Iterator[Any]:
    """``signed_in_page`` at ``size`` ("390x844"…) recording CSP violations in window.__csp."""
    from tests.browser import CSP_LISTENER, SIZES, signed_in_page

    with signed_in_page(live_server.url, user, viewport=SIZES[size]) as page:
        page.add_init_script(CSP_LISTENER)
        yield page


def assert_clean(page) -> None:
    """No CSP violation and no script error on the page."""
    assert page.evaluate("window.__csp") == [] and page.errors == []


def signed_in(engineer: Engineer) -> Client:
    """A test client with ``engineer``'s session."""
    client = Client()
    client.force_login(engineer.user)
    return client
