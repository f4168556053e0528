"""Admin: schedule page with inline layers/overrides through services, the 14-day
preview (names per hour, gaps highlighted) and swap actions."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from oncall.models import TeamMembership
from schedules import services
from schedules.models import Layer, LayerVersion, Override, SwapRequest
from schedules.restriction_text import restrictions_parse
from schedules.selectors import oncall_engineer_ids
from schedules.swaps import swap_request
from tests.factories import EngineerFactory, MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # Monday 01:00 Berlin


@pytest.fixture
def setup():
    team = TeamFactory(name="Core")
    alice = EngineerFactory(display_name="Alice", user__username="alice")
    bob = EngineerFactory(display_name="Bob", user__username="bob")
    MembershipFactory(team=team, engineer=alice)
    MembershipFactory(team=team, engineer=bob, role=TeamMembership.Role.ADMIN)
    with time_machine.travel(T0 - timedelta(days=1), tick=False):
        schedule = services.schedule_create(team=team, name="Primary", time_zone="Europe/Berlin")
        services.layer_create(
            schedule=schedule,
            name="Business",
            start_date=date(2026, 3, 2),
            members=[alice],
            shift_unit="days",
            restrictions=restrictions_parse("Mon-Fri 09:00-17:00 business"),
        )
    admin_user = UserFactory(is_staff=True, is_superuser=True, username="root")
    client = Client()
    client.force_login(admin_user)
    return schedule, alice, bob, client


def _cell(html: str, day: str, hour: int) -> tuple[str, str]:
    row = re.search(rf'<tr data-day="{day}">(.*?)</tr>', html, re.S).group(1)
    match = re.search(rf'<td data-hour="{hour}" class="([^"]*)">([^<]*)</td>', row)
    return match.group(1).strip(), match.group(2)


def test_preview_shows_names_per_hour_and_gaps(setup):
    schedule, *_rest, client = setup
    with time_machine.travel(T0, tick=False):
        html = client.get(f"/admin/schedules/schedule/{schedule.pk}/change/").content.decode()
    assert "Next 14 days (Europe/Berlin)" in html
    assert _cell(html, "Mon 02 Mar", 10) == ("", "Alice")
    assert _cell(html, "Mon 02 Mar", 8) == ("gap", "gap")
    assert _cell(html, "Sat 07 Mar", 12) == ("gap", "gap")
    # 29 March: 02:00 does not exist in Berlin; the preview says so.
    with time_machine.travel(datetime(2026, 3, 25, tzinfo=UTC), tick=False):
        html = client.get(f"/admin/schedules/schedule/{schedule.pk}/change/").content.decode()
    assert _cell(html, "Sun 29 Mar", 2) == ("skipped", "–")
    assert _cell(html, "Mon 30 Mar", 9) == ("", "Alice")  # 09:00 local in summer time too


@pytest.mark.parametrize("object_id", ["99999999999999999999", "abc", "0"])
def test_change_page_of_a_missing_or_absurd_id_is_not_a_500(setup, object_id):
    # An id past 64 bits overflowed the database driver in the preview (a 500).
    *_rest, client = setup
    response = client.get(f"/admin/schedules/schedule/{object_id}/change/")
    assert response.status_code == 302  # Django admin: "doesn't exist", back to the list
    assert response["Location"] == "/admin/"


def test_inline_layer_edit_and_override_go_through_services(setup):
    schedule, alice, bob, client = setup
    layer = Layer.objects.get(schedule=schedule)
    now = T0 + timedelta(days=1)
    data = {
        "team": schedule.team_id,
        "name": "Primary",
        "description": "",
        "time_zone": "Europe/Berlin",
        "layers-TOTAL_FORMS": "1",
        "layers-INITIAL_FORMS": "1",
        "layers-MIN_NUM_FORMS": "0",
        "layers-MAX_NUM_FORMS": "1000",
        "layers-0-id": str(layer.pk),
        "layers-0-schedule": str(schedule.pk),
        "layers-0-name": "Business",
        "layers-0-level": "0",
        "layers-0-start_date": "2026-03-02",
        "layers-0-handoff_time": "09:00:00",
        "layers-0-shift_length": "1",
        "layers-0-shift_unit": "days",
        "layers-0-members_text": "bob, alice",
        "layers-0-restrictions_text": "Mon-Fri 09:00-17:00 business",
        "overrides-TOTAL_FORMS": "1",
        "overrides-INITIAL_FORMS": "0",
        "overrides-MIN_NUM_FORMS": "0",
        "overrides-MAX_NUM_FORMS": "1000",
        "overrides-0-schedule": str(schedule.pk),
        "overrides-0-engineer": str(alice.pk),
        "overrides-0-start_0": "2026-03-05",
        "overrides-0-start_1": "00:00:00",
        "overrides-0-end_0": "2026-03-06",
        "overrides-0-end_1": "00:00:00",
        "overrides-0-note": "covering",
    }
    with time_machine.travel(now, tick=False):
        response = client.post(f"/admin/schedules/schedule/{schedule.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert LayerVersion.objects.filter(layer=layer).count() == 2
    # Past stays: Monday 2 March was Alice's day; from the edit on, Bob's rotation.
    monday_noon = datetime(2026, 3, 2, 11, tzinfo=UTC)
    assert oncall_engineer_ids(schedule_id=schedule.pk, at=monday_noon) == [alice.pk]
    wednesday_noon = datetime(2026, 3, 4, 11, tzinfo=UTC)
    assert oncall_engineer_ids(schedule_id=schedule.pk, at=wednesday_noon) == [bob.pk]
    override = Override.objects.get(schedule=schedule)
    assert override.created_at == now and override.note == "covering"
    # Evening of 5 March: the override fills the gap (Berlin midnight = 23:00 UTC).
    assert oncall_engineer_ids(
        schedule_id=schedule.pk, at=datetime(2026, 3, 5, 20, tzinfo=UTC)
    ) == [alice.pk]
    # An unknown member name is a form error, not a 500.
    data["layers-0-members_text"] = "nobody"
    data["overrides-TOTAL_FORMS"] = "0"
    with time_machine.travel(now, tick=False):
        response = client.post(f"/admin/schedules/schedule/{schedule.pk}/change/", data)
    assert (
        response.status_code == 200 and "unknown engineer(s): nobody" in response.content.decode()
    )


def test_swap_actions_accept_and_decline(setup):
    schedule, alice, bob, client = setup
    with time_machine.travel(T0, tick=False):
        first = swap_request(
            schedule=schedule,
            requester=alice,
            teammate=bob,
            start=T0 + timedelta(days=1),
            end=T0 + timedelta(days=2),
        )
        second = swap_request(
            schedule=schedule,
            requester=alice,
            teammate=bob,
            start=T0 + timedelta(days=3),
            end=T0 + timedelta(days=4),
        )
        r = client.post(
            "/admin/schedules/swaprequest/",
            {"action": "accept_swaps", "_selected_action": [first.pk]},
            follow=True,
        )
        assert r.status_code == 200
        r = client.post(
            "/admin/schedules/swaprequest/",
            {"action": "decline_swaps", "_selected_action": [second.pk, first.pk]},
            follow=True,
        )
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == SwapRequest.Status.ACCEPTED and first.override is not None
    assert second.status == SwapRequest.Status.DECLINED
    assert "already accepted" in r.content.decode()


def test_add_schedule_with_a_layer_in_the_admin(setup):
    schedule, alice, bob, client = setup
    data = {
        "team": schedule.team_id,
        "name": "Secondary",
        "description": "",
        "time_zone": "America/New_York",
        "layers-TOTAL_FORMS": "1",
        "layers-INITIAL_FORMS": "0",
        "layers-MIN_NUM_FORMS": "0",
        "layers-MAX_NUM_FORMS": "1000",
        "layers-0-name": "Weekly",
        "layers-0-level": "0",
        "layers-0-start_date": "2026-03-02",
        "layers-0-handoff_time": "09:00:00",
        "layers-0-shift_length": "1",
        "layers-0-shift_unit": "weeks",
        "layers-0-members_text": "alice,bob",
        "layers-0-restrictions_text": "",
        "overrides-TOTAL_FORMS": "0",
        "overrides-INITIAL_FORMS": "0",
        "overrides-MIN_NUM_FORMS": "0",
        "overrides-MAX_NUM_FORMS": "1000",
    }
    with time_machine.travel(T0, tick=False):
        response = client.post("/admin/schedules/schedule/add/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    from schedules.models import Schedule

    created = Schedule.objects.get(name="Secondary")
    at = datetime(2026, 3, 2, 15, tzinfo=UTC)  # 10:00 in New York
    assert oncall_engineer_ids(schedule_id=created.pk, at=at) == [alice.pk]
    assert oncall_engineer_ids(schedule_id=created.pk, at=at + timedelta(days=7)) == [bob.pk]
