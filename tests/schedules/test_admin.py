"""Admin: schedule page with inline layers/overrides through services, the 14-day
preview (names per hour, gaps highlighted) and swap actions."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from oncall.people.models import TeamMembership
from schedules import services
from schedules.models import Layer, LayerVersion, Override, SwapRequest, TimeOff
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


def test_timeline_shows_layers_overrides_and_final_rows(setup):
    schedule, alice, bob, client = setup
    with time_machine.travel(T0, tick=False):
        services.override_create(
            schedule=schedule,
            engineer=bob,
            start=T0 + timedelta(days=2),
            end=T0 + timedelta(days=3),
        )
        html = client.get(
            f"/admin/schedules/schedule/{schedule.pk}/change/?tl_range=month"
        ).content.decode()
    assert "March 2026 (1 month, Europe/Berlin)" in html
    for kind in ("layer", "overrides", "off", "final"):
        assert f'data-row="{kind}"' in html
    # No inline styles or scripts (a self-only CSP): positions are data- attributes.
    assert "style=" not in html.split('id="schedule-timeline"')[1].split("</section>")[0]
    # The final row's shifts link to "add override", prefilled with the shift.
    assert "/admin/schedules/override/add/?schedule=" in html
    # Gaps only from now on: Monday 2 March 00:00-01:00 Berlin is past at T0 (01:00).
    final = html.split('data-row="final"')[1].split("data-row=")[0]
    assert "tl-gap" in final
    assert 'data-start="2026-03-01T23:00:00+00:00"' not in final


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        (("2026-03-29", "02:30"), "does not exist in Europe/Berlin"),
        (("2026-10-25", "02:30"), "happens twice in Europe/Berlin"),
    ],
)
def test_override_typed_in_a_dst_change_is_a_clear_form_error(setup, typed, error):
    schedule, alice, _bob, client = setup
    day, clock = typed
    data = {
        "engineer": alice.pk,
        "start_0": day,
        "start_1": clock,
        "end_0": "2026-10-30",
        "end_1": "09:00",
        "note": "",
    }
    with time_machine.travel(T0, tick=False):
        response = client.post(f"/admin/schedules/override/add/?schedule={schedule.pk}", data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Override.objects.exists()


def test_override_added_in_berlin_is_stored_in_utc(setup):
    schedule, alice, _bob, client = setup
    winter = datetime(2026, 11, 29, 12, tzinfo=UTC)
    with time_machine.travel(winter, tick=False):
        page = client.get(f"/admin/schedules/override/add/?schedule={schedule.pk}")
        assert "Europe/Berlin (CET)" in page.content.decode()
        response = client.post(
            f"/admin/schedules/override/add/?schedule={schedule.pk}",
            {
                "engineer": alice.pk,
                "start_0": "2026-11-30",
                "start_1": "18:00",
                "end_0": "2026-12-01",
                "end_1": "09:00",
                "note": "evening",
            },
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        api = client.get(f"/api/v1/overrides/?schedule={schedule.pk}").json()
    items = api["results"] if isinstance(api, dict) else api
    assert [(o["start"], o["end"]) for o in items] == [
        ("2026-11-30T17:00:00Z", "2026-12-01T08:00:00Z")
    ]


def _layer_post(schedule, layer, **changes):
    data = {
        "team": schedule.team_id,
        "name": schedule.name,
        "description": "",
        "time_zone": schedule.time_zone,
        "layers-TOTAL_FORMS": "1",
        "layers-INITIAL_FORMS": "1",
        "layers-MIN_NUM_FORMS": "0",
        "layers-MAX_NUM_FORMS": "1000",
        "layers-0-id": str(layer.pk),
        "layers-0-schedule": str(schedule.pk),
        "layers-0-name": layer.name,
        "layers-0-level": "0",
        "layers-0-start_date": "2026-03-02",
        "layers-0-handoff_time": "09:00:00",
        "layers-0-shift_length": "1",
        "layers-0-shift_unit": "days",
        "layers-0-members_text": "alice",
        "layers-0-restrictions_text": "Mon-Fri 09:00-17:00 business",
        "layers-0-effective": "next-handoff",
        "overrides-TOTAL_FORMS": "0",
        "overrides-INITIAL_FORMS": "0",
        "overrides-MIN_NUM_FORMS": "0",
        "overrides-MAX_NUM_FORMS": "1000",
    }
    data.update({f"layers-0-{k}": v for k, v in changes.items()})
    return data


def test_layer_edit_warns_when_on_call_now_changes_and_saves_once_confirmed(setup):
    schedule, alice, bob, client = setup
    layer = Layer.objects.get(schedule=schedule)
    now = datetime(2026, 3, 3, 10, tzinfo=UTC)  # Tuesday 11:00 Berlin: Alice on call
    url = f"/admin/schedules/schedule/{schedule.pk}/change/"
    data = _layer_post(schedule, layer, members_text="bob", effective="now")
    with time_machine.travel(now, tick=False):
        response = client.post(url, data)
        html = response.content.decode()
        assert response.status_code == 200
        assert "On call now changes from Alice to Bob at Tue 03 Mar 2026, 11:00 CET" in html
        assert LayerVersion.objects.filter(layer=layer).count() == 1  # nothing saved
        data["layers-0-confirm_change"] = "on"
        response = client.post(url, data)
    assert response.status_code == 302
    assert oncall_engineer_ids(schedule_id=schedule.pk, at=now) == [bob.pk]


def test_layer_edit_defaults_to_the_next_handoff(setup):
    schedule, alice, bob, client = setup
    layer = Layer.objects.get(schedule=schedule)
    now = datetime(2026, 3, 3, 10, tzinfo=UTC)  # Tuesday 11:00 Berlin
    data = _layer_post(schedule, layer, members_text="bob, alice")
    with time_machine.travel(now, tick=False):
        # Day 2 of the rotation (Wednesday) is Bob's under the new members: the form
        # says so for that handoff, then saves once confirmed; today stays Alice's.
        response = client.post(f"/admin/schedules/schedule/{schedule.pk}/change/", data)
        html = response.content.decode()
        assert "On call at Wed 04 Mar 2026, 09:00 CET (Europe/Berlin) changes from Alice" in html
        data["layers-0-confirm_change"] = "on"
        response = client.post(f"/admin/schedules/schedule/{schedule.pk}/change/", data)
    assert response.status_code == 302
    version = LayerVersion.objects.filter(layer=layer).latest("effective_from")
    assert version.effective_from == datetime(2026, 3, 4, 8, tzinfo=UTC)
    assert oncall_engineer_ids(schedule_id=schedule.pk, at=now) == [alice.pk]
    assert oncall_engineer_ids(schedule_id=schedule.pk, at=datetime(2026, 3, 4, 9, tzinfo=UTC)) == [
        bob.pk
    ]


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


def test_swap_and_time_off_pages_read_times_in_the_schedule_and_engineer_zone(setup):
    schedule, alice, bob, client = setup
    bob.time_zone = "America/New_York"
    bob.save()
    with time_machine.travel(T0, tick=False):
        page = client.get(f"/admin/schedules/swaprequest/add/?schedule={schedule.pk}")
        assert "in Europe/Berlin (CET)" in page.content.decode()
        response = client.post(
            f"/admin/schedules/swaprequest/add/?schedule={schedule.pk}",
            {
                "schedule": schedule.pk,
                "requester": alice.pk,
                "teammate": bob.pk,
                "start_0": "2026-03-10",
                "start_1": "09:00",
                "end_0": "2026-03-10",
                "end_1": "17:00",
                "note": "",
            },
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        response = client.post(
            f"/admin/schedules/timeoff/add/?engineer={bob.pk}",
            {
                "engineer": bob.pk,
                "kind": "vacation",
                "start_0": "2026-03-20",
                "start_1": "00:00",
                "end_0": "2026-03-21",
                "end_1": "00:00",
                "note": "",
            },
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        listing = client.get("/admin/schedules/timeoff/").content.decode()
    swap = SwapRequest.objects.get()
    assert (swap.start, swap.end) == (
        datetime(2026, 3, 10, 8, tzinfo=UTC),
        datetime(2026, 3, 10, 16, tzinfo=UTC),
    )
    off = TimeOff.objects.get(engineer=bob)
    assert off.start == datetime(2026, 3, 20, 4, tzinfo=UTC)  # midnight in New York (EDT)
    assert "Fri 20 Mar 2026, 00:00 EDT" in listing


def test_add_pages_ask_for_the_schedule_or_engineer_first_then_keep_it(setup):
    """Typed before a schedule is chosen, times would be read in UTC: the add pages of
    overrides, swaps and time off ask for what sets the zone first, then hold it fixed."""
    schedule, alice, bob, client = setup
    tokyo = services.schedule_create(team=schedule.team, name="Night", time_zone="Asia/Tokyo")
    bob.time_zone = "America/New_York"
    bob.save()
    for model in ("override", "swaprequest"):
        for query in ("", "?schedule=999999", "?schedule=abc"):
            page = client.get(f"/admin/schedules/{model}/add/{query}").content.decode()
            assert "pick the schedule first" in page
            assert f'href="?schedule={schedule.pk}"' in page and "Europe/Berlin (C" in page
            assert f'href="?schedule={tokyo.pk}"' in page and "Asia/Tokyo (JST)" in page
            assert 'name="start_0"' not in page  # no time to type yet
    page = client.get("/admin/schedules/timeoff/add/").content.decode()
    assert f'href="?engineer={bob.pk}"' in page and "America/New_York (E" in page
    # Chosen: the form offers that schedule alone; another one posted (its times would
    # have been read in the wrong zone) is a form error and nothing is saved.
    url = f"/admin/schedules/swaprequest/add/?schedule={tokyo.pk}"
    data = {
        "schedule": schedule.pk,
        "requester": alice.pk,
        "teammate": bob.pk,
        "start_0": "2026-03-10",
        "start_1": "09:00",
        "end_0": "2026-03-10",
        "end_1": "17:00",
        "note": "",
    }
    with time_machine.travel(T0, tick=False):
        page = client.get(url).content.decode()
        assert "Asia/Tokyo (JST)" in page
        select = re.search(r'<select name="schedule".*?</select>', page, re.S).group(0)
        assert re.findall(r'<option value="(\d*)"', select) == [str(tokyo.pk)]
        assert f'<option value="{tokyo.pk}" selected>' in select
        refused = client.post(url, data)
        assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
        assert not SwapRequest.objects.exists()
        response = client.post(url, {**data, "schedule": tokyo.pk})
    assert response.status_code == 302, response.content.decode()[:2000]
    swap = SwapRequest.objects.get()
    assert swap.schedule == tokyo
    assert swap.start == datetime(2026, 3, 10, 0, tzinfo=UTC)  # 09:00 in Tokyo
