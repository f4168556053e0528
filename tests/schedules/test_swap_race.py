"""Racing decisions on one swap (PostgreSQL): exactly one wins, at most one override."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from oncall.people.models import TeamMembership
from schedules import services
from schedules.models import Override, SwapRequest
from schedules.swaps import swap_accept, swap_decline, swap_request
from tests.factories import EngineerFactory, MembershipFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_accept_and_decline_race_one_wins():
    team = TeamFactory()
    alice, bob, boss = (EngineerFactory() for _ in range(3))
    MembershipFactory(team=team, engineer=alice)
    MembershipFactory(team=team, engineer=bob)
    MembershipFactory(team=team, engineer=boss, role=TeamMembership.Role.ADMIN)
    schedule = services.schedule_create(team=team, name="Primary")
    services.layer_create(
        schedule=schedule, name="L", start_date=date.today(), members=[alice, bob]
    )
    staff = UserFactory(is_staff=True)
    start = timezone.now() + timedelta(days=1)
    outcomes: list[str] = []
    for round_ in range(10):
        swap = swap_request(
            schedule=schedule,
            requester=alice,
            teammate=bob,
            start=start + timedelta(days=round_),
            end=start + timedelta(days=round_, hours=4),
        )
        barrier = threading.Barrier(3)
        results: list[str] = []

        def decide(fn, user, swap_id=swap.pk, barrier=barrier, results=results):
            try:
                barrier.wait()
                fn(swap=SwapRequest.objects.get(pk=swap_id), user=user)
                results.append(fn.__name__)
            except ValidationError:
                results.append("refused")
            finally:
                connection.close()

        threads = [
            threading.Thread(target=decide, args=(swap_accept, bob.user)),
            threading.Thread(target=decide, args=(swap_decline, boss.user)),
            threading.Thread(target=decide, args=(swap_accept, staff)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results).count("refused") == 2, results
        swap.refresh_from_db()
        winner = next(r for r in results if r != "refused")
        assert swap.status == ("accepted" if winner == "swap_accept" else "declined")
        assert Override.objects.filter(swap=swap).count() == (1 if winner == "swap_accept" else 0)
        outcomes.append(winner)
    assert Override.objects.count() == outcomes.count("swap_accept")
