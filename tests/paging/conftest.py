"""Paging fixtures: API clients (staff; Alice, an engineer with an SMS-then-call ladder).
The clock and the recording channel are shared (tests/conftest.py)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from oncall.people.models import Engineer
from tests.factories import UserFactory
from tests.support import engineer_with_ladder


@pytest.fixture
def staff() -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory(is_staff=True))
    return client


@pytest.fixture
def alice() -> Engineer:
    return engineer_with_ladder("Alice", "+14155550001")


@pytest.fixture
def as_alice(alice: Engineer) -> APIClient:
    client = APIClient()
    client.force_authenticate(alice.user)
    return client
