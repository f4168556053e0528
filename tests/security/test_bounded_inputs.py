"""Bounded inputs on every API collection and write endpoint, found by walking the URL
conf (so a new collection is covered without touching this file): ``limit=10**20`` (or
anything above the largest page) is a 400, ``offset=10**20`` is a 400, a JSON body 5,000 levels deep
or larger than ``API_MAX_BODY_BYTES`` is a 400 — never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from oncall.api.pagination import MAX_PAGE_SIZE
from tests.factories import TeamFactory, UserFactory
from tests.paging.factories import IncidentFactory

pytestmark = pytest.mark.django_db

DEEP = "[" * 5000 + "]" * 5000


def _routes(patterns: list, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def _viewset_routes(action: str) -> list[str]:
    """Paths of the router routes that map a method to ``action`` (no URL arguments)."""
    paths = []
    for route, pattern in _routes(get_resolver().url_patterns):
        actions = getattr(pattern.callback, "actions", None) or {}
        if action in actions.values() and "(?P<" not in route:
            paths.append("/" + route.replace("^", "").replace("$", ""))
    return sorted(set(paths))


COLLECTIONS = _viewset_routes("list")
CREATES = _viewset_routes("create")


@pytest.fixture
def staff() -> APIClient:
    user = UserFactory(username="boss", is_staff=True, is_superuser=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_the_walk_finds_every_collection() -> None:
    # 17 when the audit ran; more is fine (new collections are covered automatically).
    assert len(COLLECTIONS) >= 17
    assert {"/api/v1/incidents/", "/api/v1/escalation-policies/", "/api/v1/teams/"} <= set(
        COLLECTIONS
    )


@pytest.mark.parametrize("path", COLLECTIONS)
def test_huge_limit_and_huge_offset_are_400(staff, path) -> None:
    TeamFactory()
    for limit in (10**20, "9" * 5000, MAX_PAGE_SIZE + 1):
        response = staff.get(path, {"limit": limit})
        assert response.status_code == 400, response.content
        assert response.json() == {"limit": f"must be at most {MAX_PAGE_SIZE}"}
    response = staff.get(path, {"offset": 10**20})
    assert response.status_code == 400, response.content
    assert "offset" in response.json()
    assert staff.get(path, {"limit": MAX_PAGE_SIZE}).status_code == 200


def test_a_page_is_at_most_max_page_size(staff) -> None:
    TeamFactory.create_batch(MAX_PAGE_SIZE + 3)
    response = staff.get("/api/v1/teams/", {"limit": MAX_PAGE_SIZE})
    body = response.json()
    assert (len(body["results"]), body["count"]) == (MAX_PAGE_SIZE, MAX_PAGE_SIZE + 3)
    assert f"limit={MAX_PAGE_SIZE}" in body["next"]
    # No limit at all: the default page size, not everything.
    assert len(staff.get("/api/v1/teams/").json()["results"]) < MAX_PAGE_SIZE


def write_endpoints() -> list[tuple[str, str]]:
    """Every create, the incident actions that take a body, and updates."""
    return (
        [("post", path) for path in CREATES]
        + [("post", f"/api/v1/incidents/{{incident}}/{name}/") for name in ("notes", "reassign")]
        + [("patch", "/api/v1/teams/{team}/"), ("put", "/api/v1/teams/{team}/")]
    )


@pytest.mark.parametrize(("method", "path"), write_endpoints())
def test_deeply_nested_json_is_400(staff, method, path) -> None:
    incident = IncidentFactory()
    url = path.format(incident=incident.pk, team=incident.service.team_id)
    response = getattr(staff, method)(url, data=DEEP, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "nested more than 64 levels" in json.dumps(response.json())
    # As an object too, not only arrays.
    deep_object = '{"a":' * 5000 + "1" + "}" * 5000
    response = getattr(staff, method)(url, data=deep_object, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize("name", ["acknowledge", "escalate"])
def test_actions_without_a_body_ignore_a_deep_one(staff, name) -> None:
    incident = IncidentFactory()
    url = f"/api/v1/incidents/{incident.pk}/{name}/"
    assert staff.post(url, data=DEEP, content_type="application/json").status_code == 200


def test_resolve_reads_its_body_so_a_deep_one_is_400(staff) -> None:
    """Resolve takes an optional ``resolution``: its body is parsed, and refused when deep."""
    incident = IncidentFactory()
    url = f"/api/v1/incidents/{incident.pk}/resolve/"
    response = staff.post(url, data=DEEP, content_type="application/json")
    assert response.status_code == 400
    assert "nested more than 64 levels" in json.dumps(response.json())
    incident.refresh_from_db()
    assert incident.status == "triggered"


def test_moderately_deep_json_is_400_without_recursion(staff) -> None:
    body = "[" * 200 + "]" * 200  # parses fine, but deeper than any body this API takes
    response = staff.post("/api/v1/teams/", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "nested more than 64 levels" in response.json()["detail"]


def test_oversized_json_body_is_400(staff, settings) -> None:
    settings.API_MAX_BODY_BYTES = 2048
    body = json.dumps({"name": "x" * 4096, "slug": "x"})
    response = staff.post("/api/v1/teams/", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"] == "body: larger than 2048 bytes"
    ok = staff.post("/api/v1/teams/", {"name": "Ops", "slug": "ops"}, format="json")
    assert ok.status_code == 201
