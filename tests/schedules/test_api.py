"""The schedules API: CRUD, permissions, who-is-on-call queries, swaps, time off,
holiday import and iCal feeds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve as url_resolve
from rest_framework.test import APIClient

from oncall.people.models import TeamMembership
from schedules.models import FeedToken, LayerVersion, SwapRequest
from tests.factories import EngineerFactory, MembershipFactory, TeamFactory, UserFactory
from tests.schedules.test_swaps_holidays import ICS

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # Monday 09:00 Berlin


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def world():
    team = TeamFactory()
    admin = EngineerFactory(display_name="Ada Admin")
    alice = EngineerFactory(display_name="Alice")
    bob = EngineerFactory(display_name="Bob")
    outsider = EngineerFactory(display_name="Olga")
    MembershipFactory(team=team, engineer=admin, role=TeamMembership.Role.ADMIN)
    MembershipFactory(team=team, engineer=alice)
    MembershipFactory(team=team, engineer=bob)
    return {"team": team, "admin": admin, "alice": alice, "bob": bob, "outsider": outsider}


@pytest.fixture
def traveller():
    with time_machine.travel(T0, tick=False) as t:
        yield t


def make_schedule(world) -> dict:
    api = client_for(world["admin"].user)
    r = api.post(
        "/api/v1/schedules/",
        {"team": world["team"].id, "name": "Primary", "time_zone": "Europe/Berlin"},
        format="json",
    )
    assert r.status_code == 201, r.data
    schedule = r.data
    r = api.post(
        "/api/v1/layers/",
        {
            "schedule": schedule["id"],
            "name": "Weekly",
            "start_date": "2026-03-02",
            "handoff_time": "09:00",
            "shift_unit": "weeks",
            "members": [world["alice"].id, world["bob"].id],
        },
        format="json",
    )
    assert r.status_code == 201, r.data
    schedule["layer"] = r.data
    return schedule


def test_schedule_crud_and_permissions(world, traveller):
    member = client_for(world["alice"].user)
    r = member.post("/api/v1/schedules/", {"team": world["team"].id, "name": "Nope"}, format="json")
    assert r.status_code == 403
    schedule = make_schedule(world)
    assert schedule["layer"]["members"] == [world["alice"].id, world["bob"].id]
    assert member.get(f"/api/v1/schedules/{schedule['id']}/").status_code == 200
    assert (
        member.patch(
            f"/api/v1/schedules/{schedule['id']}/", {"name": "X"}, format="json"
        ).status_code
        == 403
    )
    r = client_for(world["admin"].user).patch(
        f"/api/v1/schedules/{schedule['id']}/", {"time_zone": "Mars/Base"}, format="json"
    )
    assert r.status_code == 400 and "time_zone" in r.data
    staff = client_for(UserFactory(is_staff=True))
    r = staff.post(
        "/api/v1/schedules/",
        {"team": world["team"].id, "name": "Primary", "time_zone": "UTC"},
        format="json",
    )
    assert r.status_code == 400 and "name" in r.data  # duplicate name in the team
    assert APIClient().get("/api/v1/schedules/").status_code == 401


def test_oncall_shifts_and_gaps(world, traveller):
    schedule = make_schedule(world)
    api = client_for(world["bob"].user)
    r = api.get(f"/api/v1/schedules/{schedule['id']}/oncall/", {"at": "2026-03-03T12:00:00Z"})
    assert r.status_code == 200
    [who] = r.data["oncall"]
    assert who["engineer"] == world["alice"].id and who["engineer_name"] == "Alice"
    assert who["since"].startswith("2026-03-02T08:00") and who["until"].startswith(
        "2026-03-09T08:00"
    )
    r = api.get(f"/api/v1/schedules/{schedule['id']}/oncall/", {"at": "nonsense"})
    assert r.status_code == 400 and "at" in r.data
    r = api.get(f"/api/v1/schedules/{schedule['id']}/oncall/", {"at": "2026-03-03T12:00:00"})
    assert r.status_code == 400 and "offset" in str(r.data["at"])
    # Before the rotation starts: a gap, shown plainly.
    r = api.get(f"/api/v1/schedules/{schedule['id']}/oncall/", {"at": "2026-03-01T12:00:00Z"})
    assert r.data["gap"] is True and r.data["oncall"] == []
    r = api.get(
        f"/api/v1/schedules/{schedule['id']}/shifts/",
        {"start": "2026-03-01T00:00:00Z", "end": "2026-03-16T08:00:00Z"},
    )
    assert [s["engineer"] for s in r.data["shifts"]] == [world["alice"].id, world["bob"].id]
    assert r.data["gaps"] == [{"start": "2026-03-01T00:00:00Z", "end": "2026-03-02T08:00:00Z"}]
    r = api.get(
        f"/api/v1/schedules/{schedule['id']}/shifts/",
        {"start": "2026-03-05T00:00:00Z", "end": "2026-03-01T00:00:00Z"},
    )
    assert r.status_code == 400 and "end" in r.data


def test_engineer_shifts_route_and_oncall_everywhere(world, traveller):
    schedule = make_schedule(world)
    match = url_resolve(f"/api/v1/engineers/{world['bob'].id}/shifts/")
    assert match.url_name == "engineer-shifts"
    assert url_resolve(f"/api/v1/engineers/{world['bob'].id}/").url_name != "engineer-shifts"
    api = client_for(world["alice"].user)
    r = api.get(
        f"/api/v1/engineers/{world['bob'].id}/shifts/",
        {"start": "2026-03-02T00:00:00Z", "end": "2026-03-20T00:00:00Z"},
    )
    assert r.status_code == 200
    assert [(s["schedule"], s["start"]) for s in r.data["shifts"]] == [
        (schedule["id"], "2026-03-09T08:00:00Z")
    ]
    assert api.get("/api/v1/engineers/999999/shifts/").status_code == 404
    r = api.get("/api/v1/oncall/", {"at": "2026-03-10T00:00:00Z"})
    assert r.status_code == 200
    assert [(row["schedule"], row["oncall"][0]["engineer"]) for row in r.data["schedules"]] == [
        (schedule["id"], world["bob"].id)
    ]
    assert api.get("/api/v1/oncall/", {"at": "yesterday"}).status_code == 400


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("oncall/", {"at": "9999-12-31T23:59:59Z"}, "at"),
        ("oncall/", {"at": "0001-01-01T00:00:00Z"}, "at"),
        ("shifts/", {"start": "0001-01-01T00:00:00Z", "end": "0001-01-02T00:00:00Z"}, "start"),
        ("shifts/", {"start": "9999-12-30T00:00:00Z"}, "start"),
        ("fairness/", {"start": "2026-01-01T00:00:00Z", "end": "9999-12-31T00:00:00Z"}, "end"),
    ],
)
def test_instants_at_the_edge_of_time_are_400_not_500(world, traveller, path, params, field):
    # They overflowed datetime in the resolver or in start + 7 days.
    schedule = make_schedule(world)
    api = client_for(world["alice"].user)
    other = (
        "/api/v1/oncall/" if path == "oncall/" else f"/api/v1/engineers/{world['bob'].id}/shifts/"
    )
    for url in (f"/api/v1/schedules/{schedule['id']}/{path}", other):
        r = api.get(url, params)
        assert r.status_code == 400, (url, r.content)
        assert "year must be between" in str(r.data[field])


@pytest.mark.parametrize("path", ["schedules", "layers", "restrictions", "overrides", "time-off"])
def test_ids_past_64_bits_and_json_1e999_are_400_not_500(world, traveller, path):
    # Both overflowed below the API (database driver, int(inf)) and answered 500.
    api = client_for(UserFactory(is_staff=True))
    params = {"team": "9" * 20, "schedule": "9" * 20, "layer": "9" * 20, "engineer": "9" * 20}
    r = api.get(f"/api/v1/{path}/", params)
    assert r.status_code == 400, r.content
    assert any("out of range for an id" in str(v) for v in r.data.values()), r.data
    body = b'{"team": 1e999, "schedule": 1e999, "layer": 1e999, "engineer": 1e999}'
    r = api.generic("POST", f"/api/v1/{path}/", body, content_type="application/json")
    assert r.status_code == 400, r.content
    assert "1e999 is out of range" in r.data["detail"]


@pytest.mark.parametrize("length", [10**20, 2**63, 10_001])
def test_a_shift_length_past_the_maximum_is_400_not_500(world, traveller, length):
    """Issue 12 item 4 (found by a fuzz of every API field): shift_length 10**20 was
    an OverflowError writing the layer (a 500)."""
    schedule = make_schedule(world)
    api = client_for(world["admin"].user)
    layer = f"/api/v1/layers/{schedule['layer']['id']}/"
    r = api.patch(layer, {"shift_length": length}, format="json")
    assert r.status_code == 400, r.content
    assert "shift_length" in r.data
    body = {**schedule["layer"], "shift_length": length, "name": "Another"}
    assert api.post("/api/v1/layers/", body, format="json").status_code == 400
    assert api.patch(layer, {"shift_length": 10_000}, format="json").status_code == 200


def test_layer_edit_via_api_keeps_the_past(world, traveller):
    schedule = make_schedule(world)
    admin = client_for(world["admin"].user)
    traveller.move_to(T0 + timedelta(days=3))
    layer_id = schedule["layer"]["id"]
    r = admin.patch(f"/api/v1/layers/{layer_id}/", {"members": [world["bob"].id]}, format="json")
    assert r.status_code == 200, r.data
    assert LayerVersion.objects.filter(layer_id=layer_id).count() == 2
    api = client_for(world["alice"].user)
    past = api.get(f"/api/v1/schedules/{schedule['id']}/oncall/", {"at": "2026-03-03T12:00:00Z"})
    assert past.data["oncall"][0]["engineer"] == world["alice"].id
    now = api.get(f"/api/v1/schedules/{schedule['id']}/oncall/")
    assert now.data["oncall"][0]["engineer"] == world["bob"].id
    r = admin.patch(
        f"/api/v1/layers/{layer_id}/",
        {"members": [world["alice"].id], "effective_from": "2026-03-01T00:00:00Z"},
        format="json",
    )
    assert r.status_code == 400 and "effective_from" in r.data
    # A client clock two minutes behind: its "now" is read as now, the past stays.
    behind = T0 + timedelta(days=3) - timedelta(minutes=2)
    r = admin.patch(
        f"/api/v1/layers/{layer_id}/",
        {"members": [world["bob"].id, world["alice"].id], "effective_from": behind.isoformat()},
        format="json",
    )
    assert r.status_code == 200, r.data
    latest = LayerVersion.objects.filter(layer_id=layer_id).latest("effective_from")
    assert latest.effective_from == T0 + timedelta(days=3)
    r = admin.post(
        "/api/v1/restrictions/",
        {
            "layer": layer_id,
            "weekdays": [0, 1, 2, 3, 4],
            "start_time": "09:00",
            "end_time": "17:00",
        },
        format="json",
    )
    assert r.status_code == 201, r.data
    r = admin.post(
        "/api/v1/restrictions/",
        {"layer": layer_id, "weekdays": [9], "start_time": "09:00", "end_time": "17:00"},
        format="json",
    )
    assert r.status_code == 400 and "weekdays" in r.data
    assert admin.delete(f"/api/v1/layers/{layer_id}/").status_code == 204
    gone = api.get(f"/api/v1/schedules/{schedule['id']}/oncall/", {"at": "2026-03-06T12:00:00Z"})
    assert gone.data["gap"] is True
    past = api.get(f"/api/v1/schedules/{schedule['id']}/oncall/", {"at": "2026-03-03T12:00:00Z"})
    assert past.data["oncall"][0]["engineer"] == world["alice"].id


def test_overrides_time_off_and_swaps_via_api(world, traveller):
    schedule = make_schedule(world)
    sid = schedule["id"]
    admin, alice, bob = (client_for(world[k].user) for k in ("admin", "alice", "bob"))
    r = admin.post(
        "/api/v1/overrides/",
        {
            "schedule": sid,
            "engineer": world["outsider"].id,
            "start": "2026-03-03T00:00:00Z",
            "end": "2026-03-04T00:00:00Z",
        },
        format="json",
    )
    assert r.status_code == 201, r.data
    assert (
        alice.post(
            "/api/v1/overrides/",
            {
                "schedule": sid,
                "engineer": world["alice"].id,
                "start": "2026-03-03T00:00:00Z",
                "end": "2026-03-04T00:00:00Z",
            },
            format="json",
        ).status_code
        == 403
    )
    r = alice.get(f"/api/v1/schedules/{sid}/oncall/", {"at": "2026-03-03T12:00:00Z"})
    assert r.data["oncall"][0]["engineer"] == world["outsider"].id
    assert r.data["oncall"][0]["source"].startswith("override:")

    # Time off: one's own is fine, someone else's is not (unless admin).
    r = alice.post(
        "/api/v1/time-off/",
        {"start": "2026-03-05T00:00:00Z", "end": "2026-03-06T00:00:00Z"},
        format="json",
    )
    assert r.status_code == 201 and r.data["engineer"] == world["alice"].id
    r = bob.post(
        "/api/v1/time-off/",
        {
            "engineer": world["alice"].id,
            "start": "2026-03-07T00:00:00Z",
            "end": "2026-03-08T00:00:00Z",
        },
        format="json",
    )
    assert r.status_code == 403
    r = alice.post(
        "/api/v1/time-off/",
        {"start": "2026-03-07T00:00:00Z", "end": "2026-03-06T00:00:00Z"},
        format="json",
    )
    assert r.status_code == 400 and "end" in r.data
    r = bob.get(f"/api/v1/schedules/{sid}/oncall/", {"at": "2026-03-05T12:00:00Z"})
    assert r.data["oncall"][0]["engineer"] == world["bob"].id
    assert r.data["oncall"][0]["reason"] == "substituting for Alice"

    # Swap: alice asks bob for Sunday; bob accepts.
    r = alice.post(
        "/api/v1/swaps/",
        {
            "schedule": sid,
            "teammate": world["bob"].id,
            "start": "2026-03-08T00:00:00Z",
            "end": "2026-03-09T00:00:00Z",
        },
        format="json",
    )
    assert r.status_code == 201, r.data
    swap_id = r.data["id"]
    assert alice.post(f"/api/v1/swaps/{swap_id}/accept/").status_code == 403
    r = bob.post(f"/api/v1/swaps/{swap_id}/accept/")
    assert r.status_code == 200 and r.data["status"] == "accepted" and r.data["override"]
    assert bob.post(f"/api/v1/swaps/{swap_id}/decline/").status_code == 400
    assert SwapRequest.objects.get(pk=swap_id).override.engineer_id == world["bob"].id
    r = bob.get(f"/api/v1/schedules/{sid}/oncall/", {"at": "2026-03-08T12:00:00Z"})
    assert r.data["oncall"][0]["engineer"] == world["bob"].id
    r = bob.get(
        f"/api/v1/schedules/{sid}/fairness/",
        {"start": "2026-03-02T08:00:00Z", "end": "2026-03-09T08:00:00Z"},
    )
    hours = {row["engineer"]: row["hours"] for row in r.data["engineers"]}
    assert sum(hours.values()) == 168


def test_holiday_calendar_import_upload(world, traveller):
    staff = client_for(UserFactory(is_staff=True))
    r = staff.post(
        "/api/v1/holiday-calendars/",
        {"name": "Germany", "holidays": [{"date": "2026-10-03", "name": "Unity"}]},
        format="json",
    )
    assert r.status_code == 201, r.data
    cal_id = r.data["id"]
    assert (
        client_for(world["alice"].user)
        .post("/api/v1/holiday-calendars/", {"name": "X"}, format="json")
        .status_code
        == 403
    )
    upload = SimpleUploadedFile("h.ics", ICS, content_type="text/calendar")
    r = staff.post(
        f"/api/v1/holiday-calendars/{cal_id}/import/", {"file": upload}, format="multipart"
    )
    assert r.status_code == 200, r.data
    assert {"2026-10-03", "2026-12-25", "2026-12-26"} <= {h["date"] for h in r.data["holidays"]}
    bad = SimpleUploadedFile("h.ics", b"garbage", content_type="text/calendar")
    r = staff.post(f"/api/v1/holiday-calendars/{cal_id}/import/", {"file": bad}, format="multipart")
    assert r.status_code == 400 and "file" in r.data
    r = staff.post(f"/api/v1/holiday-calendars/{cal_id}/import/", {}, format="multipart")
    assert r.status_code == 400


def _ics(*event_lines: str) -> bytes:
    lines = ["BEGIN:VCALENDAR", "BEGIN:VEVENT", *event_lines, "SUMMARY:x", "END:VEVENT"]
    return ("\r\n".join([*lines, "END:VCALENDAR", ""])).encode()


@pytest.mark.parametrize(
    ("ics", "reason"),
    [
        # Each of these was a 500 (TypeError, OverflowError, AttributeError) or hung.
        (_ics("DTSTART:99999999"), "DTSTART '99999999' is not a date"),
        (_ics("DTSTART;VALUE=DATE:20260101", "DTEND:garbage"), "DTEND 'garbage' is not a date"),
        (_ics("DTSTART;VALUE=DATE:99991231"), "DTSTART year must be between"),
        (_ics("DTSTART;VALUE=DATE:20260101", "DTEND;VALUE=DATE:20280101"), "more than 366"),
        (_ics("DTSTART;VALUE=DATE:20260101", "RRULE:FREQ=DAILY;INTERVAL=0"), "INTERVAL"),
        (_ics("DTSTART;VALUE=DATE:20260101", "RRULE:FREQ=SECONDLY"), "FREQ must be one of"),
        (_ics("DTSTART;VALUE=DATE:20260101", "RRULE:FREQ=BOGUS"), "RRULE is not valid"),
    ],
)
def test_holiday_import_bad_events_are_400_naming_file(world, traveller, ics, reason):
    staff = client_for(UserFactory(is_staff=True))
    cal_id = staff.post("/api/v1/holiday-calendars/", {"name": "G"}, format="json").data["id"]
    upload = SimpleUploadedFile("h.ics", ics, content_type="text/calendar")
    r = staff.post(
        f"/api/v1/holiday-calendars/{cal_id}/import/", {"file": upload}, format="multipart"
    )
    assert r.status_code == 400, r.content
    assert "event 1: " in str(r.data["file"]) and reason in str(r.data["file"])


def test_holiday_import_two_rrules_are_both_expanded(world, traveller):
    staff = client_for(UserFactory(is_staff=True))
    cal_id = staff.post("/api/v1/holiday-calendars/", {"name": "G"}, format="json").data["id"]
    ics = _ics(
        "DTSTART;VALUE=DATE:20260101", "RRULE:FREQ=YEARLY;COUNT=2", "RRULE:FREQ=MONTHLY;COUNT=2"
    )
    upload = SimpleUploadedFile("h.ics", ics, content_type="text/calendar")
    r = staff.post(
        f"/api/v1/holiday-calendars/{cal_id}/import/", {"file": upload}, format="multipart"
    )
    assert r.status_code == 200, r.content
    assert [h["date"] for h in r.data["holidays"]] == ["2026-01-01", "2026-02-01", "2027-01-01"]


def _fetch(client, url):
    path = url.split("oncall.example.test", 1)[1]
    return client.get(path)


def test_schedule_feed_token_rotate_revoke_and_feed(world, traveller):
    schedule = make_schedule(world)
    admin = client_for(world["admin"].user)
    assert (
        client_for(world["alice"].user)
        .post(f"/api/v1/schedules/{schedule['id']}/feed-token/")
        .status_code
        == 403
    )
    r = admin.post(f"/api/v1/schedules/{schedule['id']}/feed-token/")
    assert r.status_code == 201
    token, url = r.data["token"], r.data["url"]
    assert not FeedToken.objects.filter(token_hash=token).exists()  # only the hash is kept
    anonymous = APIClient()
    feed = _fetch(anonymous, url)
    assert feed.status_code == 200
    assert feed["Content-Type"] == "text/calendar; charset=utf-8"
    cal = icalendar.Calendar.from_ical(feed.content)
    assert str(cal["X-WR-CALNAME"]) == "On call: Primary" and str(cal["NAME"]) == "On call: Primary"
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in feed.content.decode()
    assert "X-PUBLISHED-TTL:PT1H" in feed.content.decode()
    events = cal.walk("VEVENT")
    assert len(events) >= 52
    first, last = events[0], events[-1]
    assert first.decoded("DTSTART") == T0  # rotation start (within the week back)
    assert first.decoded("DTSTART").tzinfo is not None and first.decoded(
        "DTSTART"
    ).utcoffset() == timedelta(0)
    assert last.decoded("DTEND") <= T0 + timedelta(days=366)
    assert "Alice" in str(first["SUMMARY"])
    uids = [str(e["UID"]) for e in events]
    assert len(set(uids)) == len(uids)
    # Stable UIDs: a day later the same shifts keep theirs.
    traveller.move_to(T0 + timedelta(days=1))
    again = icalendar.Calendar.from_ical(_fetch(anonymous, url).content)
    assert [str(e["UID"]) for e in again.walk("VEVENT")][:10] == uids[:10]
    # Rotate: the old URL stops working; revoke: the new one too.
    r = admin.post(f"/api/v1/schedules/{schedule['id']}/feed-token/")
    assert _fetch(anonymous, url).status_code == 404
    new_url = r.data["url"]
    assert _fetch(anonymous, new_url).status_code == 200
    assert admin.delete(f"/api/v1/schedules/{schedule['id']}/feed-token/").status_code == 204
    assert _fetch(anonymous, new_url).status_code == 404
    assert anonymous.get("/feeds/nonsense.ics").status_code == 404


def test_feed_uids_stay_put_when_the_window_cuts_the_oldest_shift(world, traveller):
    """A schedule older than the feed's week back: the oldest event keeps the shift's
    real start and UID from poll to poll, and names its engineer as ATTENDEE."""
    schedule = make_schedule(world)
    token = client_for(world["admin"].user).post(f"/api/v1/schedules/{schedule['id']}/feed-token/")
    mine = client_for(world["alice"].user).post(
        f"/api/v1/engineers/{world['alice'].id}/feed-token/"
    )
    polls, own = [], []
    for at in (T0 + timedelta(days=10, hours=4), T0 + timedelta(days=11, hours=7)):
        traveller.move_to(at)
        polls.append(icalendar.Calendar.from_ical(_fetch(APIClient(), token.data["url"]).content))
        own.append(icalendar.Calendar.from_ical(_fetch(APIClient(), mine.data["url"]).content))
    firsts = [cal.walk("VEVENT")[0] for cal in polls + own]
    assert [e.decoded("DTSTART") for e in firsts] == [T0] * 4  # Alice's week from Monday
    assert len({str(e["UID"]) for e in firsts}) == 1
    alice = world["alice"]
    assert str(firsts[0]["ATTENDEE"]) == f"mailto:{alice.user.email}"
    assert firsts[0]["ATTENDEE"].params["CN"] == "Alice"


def test_engineer_feed(world, traveller):
    make_schedule(world)
    bob = client_for(world["bob"].user)
    assert (
        client_for(world["alice"].user)
        .post(f"/api/v1/engineers/{world['bob'].id}/feed-token/")
        .status_code
        == 403
    )
    r = bob.post(f"/api/v1/engineers/{world['bob'].id}/feed-token/")
    assert r.status_code == 201
    cal = icalendar.Calendar.from_ical(_fetch(APIClient(), r.data["url"]).content)
    events = cal.walk("VEVENT")
    assert events and all("Bob" in str(e["SUMMARY"]) for e in events)
    assert events[0].decoded("DTSTART") == datetime(2026, 3, 9, 8, tzinfo=UTC)
    assert bob.delete(f"/api/v1/engineers/{world['bob'].id}/feed-token/").status_code == 204
    assert _fetch(APIClient(), r.data["url"]).status_code == 404


def test_query_counts_do_not_grow_with_schedules(world, traveller, django_assert_max_num_queries):
    make_schedule(world)
    api = client_for(world["alice"].user)
    api.get("/api/v1/oncall/")  # warm up (session, content types)
    with CaptureQueriesContext(connection) as small:
        api.get("/api/v1/oncall/")
    baseline = len(small.captured_queries)  # read now: each request resets the query log
    assert baseline <= 8
    for i in range(5):
        other = client_for(world["admin"].user).post(
            "/api/v1/schedules/", {"team": world["team"].id, "name": f"S{i}"}, format="json"
        )
        client_for(world["admin"].user).post(
            "/api/v1/layers/",
            {
                "schedule": other.data["id"],
                "name": "L",
                "start_date": "2026-03-02",
                "members": [world["bob"].id],
            },
            format="json",
        )
    with django_assert_max_num_queries(baseline):
        r = api.get("/api/v1/oncall/")
    assert len(r.data["schedules"]) == 6
    with django_assert_max_num_queries(baseline + 3):
        r = api.get(f"/api/v1/engineers/{world['bob'].id}/shifts/")
    assert r.status_code == 200
