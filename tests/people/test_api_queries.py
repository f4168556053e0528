"""List endpoints run a fixed number of queries, however many rows they return."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import MembershipFactory, NotificationRuleFactory, TeamFactory

pytestmark = pytest.mark.django_db


def _queries(api, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert api.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/teams/",
        "/api/v1/engineers/",
        "/api/v1/team-memberships/",
        "/api/v1/contact-methods/",
        "/api/v1/notification-rules/",
    ],
)
def test_list_query_count_does_not_grow(staff_api, url) -> None:
    team = TeamFactory()
    MembershipFactory(team=team)
    NotificationRuleFactory()
    few = _queries(staff_api, url)
    for _ in range(5):
        membership = MembershipFactory(team=team)
        MembershipFactory(engineer=membership.engineer)
        NotificationRuleFactory(engineer=membership.engineer)
    assert _queries(staff_api, url) == few
