"""The admin home and the incident pages read in a fixed number of queries: more
schedules, incidents or timeline lines do not add queries (no N+1)."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from paging.incident_actions import incident_acknowledge, incident_add_note
from schedules import services
from tests.factories import EngineerFactory, TeamFactory, UserFactory
from tests.paging.factories import ServiceFactory
from tests.support import fire

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True, username="root"))
    return client


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def _schedules(n: int, start: int = 0) -> None:
    team = TeamFactory()
    people = [EngineerFactory() for _ in range(3)]
    for i in range(start, start + n):
        schedule = services.schedule_create(team=team, name=f"S{i}", time_zone="Europe/Berlin")
        services.layer_create(
            schedule=schedule, name="L", start_date=date(2026, 1, 5), members=people
        )


def _incidents(n: int, start: int = 0) -> list:
    service = ServiceFactory()
    out = []
    for i in range(start, start + n):
        incident = fire(service, key=f"k{i}")
        incident_acknowledge(incident_id=incident.pk, engineer_id=EngineerFactory().pk)
        out.append(incident)
    return out


def test_home_queries_do_not_grow_with_schedules_and_incidents(lead) -> None:
    _schedules(2)
    _incidents(2)
    few = _queries(lead, "/admin/")
    _schedules(6, start=2)
    _incidents(6, start=2)
    assert _queries(lead, "/admin/") == few


def test_incident_list_and_page_queries_are_fixed(lead) -> None:
    [incident] = _incidents(1)
    few_list = _queries(lead, "/admin/paging/incident/")
    few_page = _queries(lead, f"/admin/paging/incident/{incident.pk}/change/")
    _incidents(8, start=1)
    for i in range(10):
        incident_add_note(incident_id=incident.pk, text=f"n{i}", engineer_id=EngineerFactory().pk)
    assert _queries(lead, "/admin/paging/incident/") == few_list
    assert _queries(lead, f"/admin/paging/incident/{incident.pk}/change/") == few_page
