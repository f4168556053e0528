"""/me/: on call now and until when, next shifts in my zone with schedule, layer and
why; my open incidents' Acknowledge / Resolve; my calendar feed (create, rotate, revoke)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from django.test import Client

from oncall.audit.models import AuditEntry
from paging.models import Incident, IncidentEvent
from schedules import services
from schedules.models import FeedToken
from schedules.swaps import swap_accept, swap_request
from tests.me.conftest import Cast, signed_in
from tests.paging.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def test_next_shifts_in_my_zone_with_schedule_layer_and_why(cast: Cast) -> None:
    d = lambda day, hour: datetime(2026, 12, day, hour, tzinfo=UTC)  # noqa: E731
    swap = swap_request(
        schedule=cast.schedule, requester=cast.marco, teammate=cast.lena, start=d(1, 9), end=d(2, 9)
    )
    swap_accept(swap=swap, user=cast.lena.user)
    services.time_off_create(engineer=cast.marco, start=d(3, 9), end=d(4, 9))
    services.override_create(
        schedule=cast.schedule, engineer=cast.lena, start=d(5, 12), end=d(5, 15)
    )

    text = signed_in(cast.lena).get("/me/").content.decode()
    assert "Times in your zone, <strong>Europe/Berlin</strong>" in text
    # The self-only CSP: no inline script or style on the page.
    assert "<script" not in text and "style=" not in text
    # 08:00 UTC: the rotation starts at 09:00 UTC = 10:00 in Berlin.
    assert "No — next from Mon 30 Nov 2026, 10:00 CET" in text
    shifts = re.findall(r'<li class="shift">(.*?)</li>', text, re.S)
    flat = [" ".join(re.sub(r"<[^>]+>", " ", s).split()).removesuffix(" · Swap…") for s in shifts]
    assert (
        flat[0]
        == "Mon 30 Nov 2026, 10:00 CET → Tue 1 Dec 2026, 10:00 CET Primary · Days · rotation"
    )
    assert flat[1].startswith(
        "Tue 1 Dec 2026, 10:00 CET → Wed 2 Dec 2026, 10:00 CET Primary · override · swap"
    )
    assert flat[2].startswith("Wed 2 Dec 2026, 10:00 CET → Thu 3 Dec 2026, 10:00 CET")
    assert flat[3] == (
        "Thu 3 Dec 2026, 10:00 CET → Fri 4 Dec 2026, 10:00 CET Primary · Days · substitute"
        " (substituting for Marco)"
    )
    assert any(
        f.startswith(
            "Sat 5 Dec 2026, 13:00 CET → Sat 5 Dec 2026, 16:00 CET Primary · override · override"
        )
        for f in flat
    )
    # Marco sees his own shifts in his zone: 1 Dec went to Lena by the swap, 3 Dec is
    # his time off, and Lena's override cuts 5 Dec.
    marco = signed_in(cast.marco).get("/me/").content.decode()
    assert "Sat 5 Dec 2026, 09:00 UTC</strong> → Sat 5 Dec 2026, 12:00 UTC" in marco
    assert "Tue 1 Dec 2026, 09:00 UTC →" not in marco and "CET" not in marco


def test_on_call_now_says_until_when(cast: Cast, clock) -> None:
    clock.move_to(datetime(2026, 11, 30, 10, 0, tzinfo=UTC))
    text = signed_in(cast.lena).get("/me/").content.decode()
    assert "Yes, until Tue 1 Dec 2026, 10:00 CET" in text
    assert "Yes, until" not in signed_in(cast.marco).get("/me/").content.decode()


@pytest.fixture
def incidents(cast: Cast):
    mine = IncidentFactory(title="Disk full on db-1")
    mine.assigned_to.add(cast.lena)
    theirs = IncidentFactory(title="Marco's problem")
    theirs.assigned_to.add(cast.marco)
    return mine, theirs


def test_my_open_incidents_only_and_acknowledge_via_web(cast: Cast, incidents) -> None:
    mine, theirs = incidents
    client = signed_in(cast.lena)
    page = client.get("/me/").content.decode()
    assert "Disk full on db-1" in page and "Marco&#x27;s problem" not in page
    response = client.post(f"/me/incidents/{mine.pk}/acknowledge/", follow=True)
    mine.refresh_from_db()
    assert (mine.status, mine.acknowledged_by, mine.acknowledged_via) == (
        Incident.Status.ACKNOWLEDGED,
        cast.lena,
        "web",
    )
    assert (
        f"Acknowledged #{mine.pk} Disk full on db-1 by Lena at Mon 30 Nov 2026, 09:00:00 CET"
        in (response.content.decode())
    )
    assert IncidentEvent.objects.filter(incident=mine, kind="acknowledged", via="web").count() == 1
    entry = AuditEntry.objects.filter(action="acknowledge", object_id=str(mine.pk)).get()
    assert entry.actor_label == "lena (engineer pages)"
    # A second ack is stale: said so, not an error page.
    again = client.post(f"/me/incidents/{mine.pk}/acknowledge/", follow=True)
    assert again.status_code == 200 and "was already acknowledged by Lena" in again.content.decode()


def test_someone_elses_incident_is_404_and_unchanged(cast: Cast, incidents) -> None:
    _mine, theirs = incidents
    client = signed_in(cast.lena)
    assert client.post(f"/me/incidents/{theirs.pk}/acknowledge/").status_code == 404
    assert client.get(f"/me/incidents/{theirs.pk}/resolve/").status_code == 404
    assert client.post(f"/me/incidents/{theirs.pk}/resolve/").status_code == 404
    assert client.post("/me/incidents/999999/acknowledge/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Incident.Status.TRIGGERED


def test_resolve_asks_once_then_resolves(cast: Cast, incidents) -> None:
    mine, _ = incidents
    client = signed_in(cast.lena)
    confirm = client.get(f"/me/incidents/{mine.pk}/resolve/")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.content.decode()
    mine.refresh_from_db()
    assert mine.status == Incident.Status.TRIGGERED  # GET changes nothing
    done = client.post(f"/me/incidents/{mine.pk}/resolve/", follow=True)
    mine.refresh_from_db()
    assert (mine.status, mine.resolved_by, mine.resolved_via) == ("resolved", cast.lena, "web")
    assert f"Resolved #{mine.pk}" in done.content.decode()
    assert "Disk full on db-1" not in done.content.decode().split("Open incidents")[1]
    assert client.get("/me/incidents/abc/resolve/").status_code == 404


def test_resolve_may_say_why(cast: Cast, incidents) -> None:
    mine, other = incidents
    client = signed_in(cast.lena)
    confirm = client.get(f"/me/incidents/{mine.pk}/resolve/").content.decode()
    assert '<option value="false_positive">' in confirm
    bad = client.post(f"/me/incidents/{mine.pk}/resolve/", {"resolution": "bored"})
    assert bad.status_code == 400 and "resolution" in bad.content.decode()
    mine.refresh_from_db()
    assert (mine.status, mine.resolution) == (Incident.Status.TRIGGERED, None)
    client.post(f"/me/incidents/{mine.pk}/resolve/", {"resolution": "false_positive"})
    mine.refresh_from_db()
    assert (mine.status, mine.resolution) == (Incident.Status.RESOLVED, "false_positive")


def test_posts_need_the_csrf_token(cast: Cast, incidents) -> None:
    mine, _ = incidents
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.lena.user)
    assert client.post(f"/me/incidents/{mine.pk}/acknowledge/").status_code == 403
    assert client.post(f"/me/incidents/{mine.pk}/resolve/").status_code == 403
    assert client.post("/me/calendar/", {"action": "create"}).status_code == 403
    mine.refresh_from_db()
    assert mine.status == Incident.Status.TRIGGERED
    assert not FeedToken.objects.exists()


def _feed_links(html: str) -> tuple[str, str]:
    https = re.search(r'id="feed-https" type="text" readonly value="([^"]+)"', html).group(1)
    webcal = re.search(r'id="feed-webcal" type="text" readonly value="([^"]+)"', html).group(1)
    return https, webcal


def test_subscribe_to_my_calendar_with_a_real_ical_parser(cast: Cast) -> None:
    client = signed_in(cast.lena)
    page = client.post("/me/calendar/", {"action": "create"}).content.decode()
    https, webcal = _feed_links(page)
    assert https.startswith("https://oncall.example.test/feeds/") and https.endswith(".ics")
    assert webcal == "webcal://" + https.removeprefix("https://")
    feed = Client().get(https.removeprefix("https://oncall.example.test"))
    assert feed.status_code == 200
    calendar = icalendar.Calendar.from_ical(feed.content)
    events = sorted(calendar.walk("VEVENT"), key=lambda e: e.decoded("DTSTART"))
    assert events[0].decoded("DTSTART") == datetime(2026, 11, 30, 9, tzinfo=UTC)
    assert events[0].decoded("DTEND") == datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert "Primary" in str(events[0]["SUMMARY"])
    # Only Lena's shifts: every other day.
    starts = [e.decoded("DTSTART") for e in events[:3]]
    assert [s - starts[0] for s in starts] == [timedelta(0), timedelta(days=2), timedelta(days=4)]
    # The address is shown once; afterwards the page offers a new one or revoking.
    later = client.get("/me/").content.decode()
    assert https not in later and "New address…" in later
    entry = AuditEntry.objects.filter(action="feed_token_rotate").get()
    assert entry.object_id == str(cast.lena.pk)


def test_rotate_and_revoke_ask_once_and_the_old_address_stops(cast: Cast) -> None:
    client = signed_in(cast.lena)
    old, _ = _feed_links(client.post("/me/calendar/", {"action": "create"}).content.decode())
    old_path = old.removeprefix("https://oncall.example.test")
    confirm = client.get("/me/calendar/?action=rotate")
    assert (
        confirm.status_code == 200 and "The old address stops working" in confirm.content.decode()
    )
    assert Client().get(old_path).status_code == 200  # GET changed nothing
    new, _ = _feed_links(client.post("/me/calendar/", {"action": "rotate"}).content.decode())
    assert new != old and Client().get(old_path).status_code == 404
    new_path = new.removeprefix("https://oncall.example.test")
    assert "Revoke the address" in client.get("/me/calendar/?action=revoke").content.decode()
    done = client.post("/me/calendar/", {"action": "revoke"}, follow=True)
    assert "Calendar address revoked" in done.content.decode()
    assert Client().get(new_path).status_code == 404
    assert not FeedToken.objects.filter(engineer=cast.lena, revoked_at=None).exists()
    # Marco's feed is his own business: Lena's revoke never touches it.
    again = client.post("/me/calendar/", {"action": "revoke"}, follow=True)
    assert "no calendar address to revoke" in again.content.decode()


@pytest.mark.parametrize("data", [{}, {"action": "delete"}, {"action": "x" * 5000}])
def test_a_bad_calendar_action_is_a_400_naming_the_field(cast: Cast, data) -> None:
    client = signed_in(cast.lena)
    response = client.post("/me/calendar/", data)
    assert response.status_code == 400
    assert "<strong>action</strong>: must be create, rotate or revoke" in response.content.decode()
    assert client.get("/me/calendar/", data).status_code == 400
    assert not FeedToken.objects.exists()


def test_non_engineers_get_the_clear_page_on_every_me_url(db) -> None:
    from tests.factories import UserFactory

    client = Client()
    client.force_login(UserFactory(username="ops"))
    for url in ("/me/", "/me/calendar/?action=create"):
        assert client.get(url).status_code == 403
    assert client.post("/me/incidents/1/acknowledge/").status_code == 403


def test_a_shift_over_a_holiday_is_one_row_and_the_last_shows_its_real_end(db) -> None:
    """The resolver cuts a shift where a holiday starts and ends: /me/ shows it whole,
    marked; and the last shift of the four weeks ends when it ends, not with the window."""
    from datetime import date

    import time_machine

    from schedules.models import Holiday, HolidayCalendar
    from tests.factories import EngineerFactory, MembershipFactory, TeamFactory

    with time_machine.travel(datetime(2026, 11, 29, 12, tzinfo=UTC), tick=False):
        team = TeamFactory()
        ana = EngineerFactory(display_name="Ana", time_zone="Europe/Berlin")
        bo = EngineerFactory(display_name="Bo", time_zone="Europe/Berlin")
        for engineer in (bo, ana):
            MembershipFactory(team=team, engineer=engineer)
        calendar = HolidayCalendar.objects.create(name="DE")
        Holiday.objects.create(calendar=calendar, date=date(2026, 12, 8), name="Feast")
        schedule = services.schedule_create(
            team=team, name="Weekly", time_zone="Europe/Berlin", holiday_calendars=[calendar]
        )
        # Weeks from Monday 09:00: Bo, Ana (8 Dec a holiday), Bo, Ana (past the window).
        services.layer_create(
            schedule=schedule,
            name="Week",
            start_date=date(2026, 11, 30),
            shift_unit="weeks",
            members=[bo, ana],
        )
        text = signed_in(ana).get("/me/").content.decode()
    shifts = re.findall(r'<li class="shift">(.*?)</li>', text, re.S)
    flat = [" ".join(re.sub(r"<[^>]+>", " ", s).split()).removesuffix(" · Swap…") for s in shifts]
    assert flat == [
        "Mon 7 Dec 2026, 09:00 CET → Mon 14 Dec 2026, 09:00 CET Weekly · Week · rotation"
        " · includes a holiday",
        # The four weeks end Sun 27 Dec 13:00 CET, inside this shift.
        "Mon 21 Dec 2026, 09:00 CET → Mon 28 Dec 2026, 09:00 CET Weekly · Week · rotation",
    ]
