"""A staff member with an API token, an admin session, and raw SQL for tampering."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import UserFactory


@pytest.fixture
def boss(db):
    return UserFactory(username="boss", is_staff=True, is_superuser=True)


@pytest.fixture
def boss_api(boss) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=boss)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def boss_admin(boss) -> Client:
    client = Client()
    client.force_login(boss)
    return client


def raw_sql(sql: str, params: list | None = None) -> None:
    """What someone with database access could do; on PostgreSQL the append-only trigger
    is switched off first (its owner can), which is what the hash chain is for."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
        cursor.execute(sql, params or [])
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only")
