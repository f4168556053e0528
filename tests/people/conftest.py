"""A small cast: a staff admin (no engineer profile), alice and bob (plain engineers)."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from oncall.people.models import Engineer
from tests.factories import EngineerFactory, UserFactory


def _client_for(user: object | None) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def staff_user(db):
    return UserFactory(username="boss", is_staff=True)


@pytest.fixture
def alice(db) -> Engineer:
    return EngineerFactory(user__username="alice", display_name="Alice", time_zone="Europe/Berlin")


@pytest.fixture
def bob(db) -> Engineer:
    return EngineerFactory(user__username="bob", display_name="Bob", time_zone="America/New_York")


@pytest.fixture
def staff_api(staff_user) -> APIClient:
    return _client_for(staff_user)


@pytest.fixture
def alice_api(alice) -> APIClient:
    return _client_for(alice.user)


@pytest.fixture
def bob_api(bob) -> APIClient:
    return _client_for(bob.user)


@pytest.fixture
def anon_api() -> APIClient:
    return _client_for(None)
