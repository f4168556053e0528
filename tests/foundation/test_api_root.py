"""The /api/v1/ root lists every app's resources, not only the first router's."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db


def test_api_root_lists_people_schedules_and_paging_resources(client: Client) -> None:
    user = get_user_model().objects.create_user("root-viewer", password="pw-long-enough-1")
    client.force_login(user)
    body = client.get("/api/v1/", HTTP_ACCEPT="application/json").json()
    for resource in ("teams", "engineers", "schedules", "overrides", "services", "incidents"):
        assert resource in body, resource
        assert body[resource].startswith("http://testserver/api/v1/")


def test_api_root_needs_authentication(client: Client) -> None:
    assert client.get("/api/v1/", HTTP_ACCEPT="application/json").status_code == 401
