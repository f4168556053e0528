"""A small cast for /me/: Lena (Europe/Berlin) and Marco share a daily rotation
(09:00 UTC handoffs from Mon 30 Nov 2026) on team Core's schedule "Primary"."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import pytest
import time_machine

from oncall.models import Engineer
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
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def cast(db, clock) -> Cast:
    return make_cast()


# The loopback Twilio of the delivery tests (real twilio client, fake server).
from tests.delivery.conftest import fake_twilio  # noqa: E402,F401
