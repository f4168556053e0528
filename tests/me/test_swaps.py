"""/me/swaps/: Lena asks Marco to take her next shift; Marco gets the notice with the
page's address, accepts there, and both calendars change; decline, cancel, stale
decisions, someone else's swap, bad input."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from django.test import Client

from oncall.audit.models import AuditEntry
from paging.engine import tick
from paging.models import Message
from schedules.feeds import feed_token_rotate
from schedules.models import SwapRequest
from schedules.swap_links import swap_link_token
from tests.factories import ContactMethodFactory, EngineerFactory
from tests.me.conftest import Cast, signed_in

pytestmark = pytest.mark.django_db

FIRST = "1|2026-11-30T09:00:00+00:00|2026-12-01T09:00:00+00:00"  # Lena's first shift


def shift_key(cast: Cast) -> str:
    return FIRST.replace("1|", f"{cast.schedule.pk}|", 1)


def feed_starts(engineer) -> list[datetime]:
    token, _ = feed_token_rotate(engineer=engineer)
    body = Client().get(f"/feeds/{token}.ics").content
    return sorted(e.decoded("DTSTART") for e in icalendar.Calendar.from_ical(body).walk("VEVENT"))


def test_ask_then_the_teammate_accepts_and_both_calendars_change(cast: Cast) -> None:
    ContactMethodFactory(engineer=cast.marco, kind="sms", value="+15551230009")
    lena = signed_in(cast.lena)
    page = lena.get("/me/swaps/").content.decode()
    assert "Mon 30 Nov 2026, 10:00 CET → Tue 1 Dec 2026, 10:00 CET · Primary" in page
    response = lena.post(
        "/me/swaps/new/", {"shift": shift_key(cast), "teammate": cast.marco.pk, "note": "dentist"}
    )
    assert response.status_code == 302
    swap = SwapRequest.objects.get()
    assert (swap.requester, swap.teammate, swap.status) == (cast.lena, cast.marco, "pending")
    assert swap.start == datetime(2026, 11, 30, 9, tzinfo=UTC)
    notice = Message.objects.get(purpose="swap", engineer=cast.marco)
    assert "Note: dentist" in notice.body
    assert "Accept or decline: https://oncall.example.test/me/swaps/l/" in notice.body

    marco = signed_in(cast.marco)
    page = marco.get("/me/swaps/").content.decode()
    assert "Mon 30 Nov 2026, 09:00 UTC → Tue 1 Dec 2026, 09:00 UTC" in page  # Marco's zone
    done = marco.post(f"/me/swaps/{swap.pk}/accept/", follow=True)
    assert "Accepted: the shifts are yours now" in done.content.decode()
    swap.refresh_from_db()
    assert swap.status == "accepted" and swap.override is not None

    first = datetime(2026, 11, 30, 9, tzinfo=UTC)
    assert first in feed_starts(cast.marco) and first not in feed_starts(cast.lena)
    assert 'why-swap">swap<' in marco.get("/me/").content.decode()
    # A second decision is stale: said so, not an error page.
    again = marco.post(f"/me/swaps/{swap.pk}/decline/")
    assert again.status_code == 409 and "the swap is already accepted" in again.content.decode()


def test_decline_and_cancel(cast: Cast) -> None:
    lena = signed_in(cast.lena)
    lena.post("/me/swaps/new/", {"shift": shift_key(cast), "teammate": cast.marco.pk})
    swap = SwapRequest.objects.get()
    assert signed_in(cast.marco).post(f"/me/swaps/{swap.pk}/decline/").status_code == 302
    swap.refresh_from_db()
    assert swap.status == "declined"
    assert "Decided and expired" in lena.get("/me/swaps/").content.decode()
    lena.post("/me/swaps/new/", {"shift": shift_key(cast), "teammate": cast.marco.pk})
    second = SwapRequest.objects.filter(status="pending").get()
    assert lena.post(f"/me/swaps/{second.pk}/cancel/").status_code == 302
    second.refresh_from_db()
    assert second.status == "cancelled"


def test_only_the_right_side_decides_and_others_see_404(cast: Cast) -> None:
    lena = signed_in(cast.lena)
    lena.post("/me/swaps/new/", {"shift": shift_key(cast), "teammate": cast.marco.pk})
    swap = SwapRequest.objects.get()
    assert lena.post(f"/me/swaps/{swap.pk}/accept/").status_code == 404  # her own request
    assert signed_in(cast.marco).post(f"/me/swaps/{swap.pk}/cancel/").status_code == 404
    outsider = EngineerFactory()
    for action in ("accept", "decline", "cancel"):
        assert signed_in(outsider).post(f"/me/swaps/{swap.pk}/{action}/").status_code == 404
    assert signed_in(cast.marco).post(f"/me/swaps/{swap.pk}/approve/").status_code == 404
    assert signed_in(cast.marco).get(f"/me/swaps/{swap.pk}/accept/").status_code == 405
    swap.refresh_from_db()
    assert swap.status == "pending"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"teammate": "MARCO"}, "Select a valid choice"),  # shift missing too
        (
            {"shift": "1|2026-01-01T00:00:00+00:00|2026-01-02T00:00:00+00:00"},
            "Select a valid choice",
        ),
        ({"shift": "garbage"}, "Select a valid choice"),
        ({"note": "x" * 300}, "at most 255 characters"),
    ],
)
def test_bad_swap_input_is_a_400_and_nothing_saved(cast: Cast, data, reason) -> None:
    base = {"shift": shift_key(cast), "teammate": cast.marco.pk}
    response = signed_in(cast.lena).post("/me/swaps/new/", {**base, **data})
    assert response.status_code == 400 and reason in response.content.decode()
    assert not SwapRequest.objects.exists() and not Message.objects.exists()


def test_someone_outside_the_team_cannot_be_asked(cast: Cast) -> None:
    outsider = EngineerFactory(display_name="Olga")
    response = signed_in(cast.lena).post(
        "/me/swaps/new/", {"shift": shift_key(cast), "teammate": outsider.pk}
    )
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert "Olga" not in signed_in(cast.lena).get("/me/swaps/").content.decode()
    assert not SwapRequest.objects.exists()


def test_a_decision_after_the_start_is_stale(cast: Cast, clock) -> None:
    signed_in(cast.lena).post(
        "/me/swaps/new/", {"shift": shift_key(cast), "teammate": cast.marco.pk}
    )
    swap = SwapRequest.objects.get()
    clock.move_to(datetime(2026, 11, 30, 9, 30, tzinfo=UTC))
    response = signed_in(cast.marco).post(f"/me/swaps/{swap.pk}/accept/")
    assert response.status_code == 409 and "start has passed" in response.content.decode()


def test_the_teammate_accepts_through_the_signed_link_in_the_sms(cast: Cast, fake_twilio) -> None:
    ContactMethodFactory(engineer=cast.marco, kind="sms", value="+15551230010")
    signed_in(cast.lena).post(
        "/me/swaps/new/", {"shift": shift_key(cast), "teammate": cast.marco.pk}
    )
    swap = SwapRequest.objects.get()
    tick()
    body = [r.form["Body"] for r in fake_twilio.take() if r.form["To"] == "+15551230010"][-1]
    path = re.search(r"https://oncall\.example\.test(/me/swaps/l/\S+/)", body).group(1)
    anonymous = Client(enforce_csrf_checks=True)
    shown = anonymous.get(path)
    text = shown.content.decode()
    assert shown.status_code == 200 and "Lena asks you to take a shift" in text
    assert "Mon 30 Nov 2026, 09:00 UTC → Tue 1 Dec 2026, 09:00 UTC" in text  # Marco's zone
    swap.refresh_from_db()
    assert swap.status == "pending"  # GET (a mail scanner) changes nothing
    assert anonymous.post(path, {"action": "accept"}).status_code == 403  # no CSRF token
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text).group(1)
    done = anonymous.post(path, {"action": "accept", "csrfmiddlewaretoken": csrf})
    assert done.status_code == 200 and "Swap accepted." in done.content.decode()
    swap.refresh_from_db()
    assert (swap.status, swap.decided_by) == ("accepted", cast.marco.user)
    entry = AuditEntry.objects.filter(action="accepted").get()
    assert entry.actor_label == "marco via signed link"
    first = datetime(2026, 11, 30, 9, tzinfo=UTC)
    assert first in feed_starts(cast.marco) and first not in feed_starts(cast.lena)
    again = anonymous.post(path, {"action": "decline", "csrfmiddlewaretoken": csrf})
    assert again.status_code == 409 and "already accepted" in again.content.decode()


def test_a_bad_or_expired_swap_link_changes_nothing(cast: Cast, clock) -> None:
    signed_in(cast.lena).post(
        "/me/swaps/new/", {"shift": shift_key(cast), "teammate": cast.marco.pk}
    )
    swap = SwapRequest.objects.get()
    token = swap_link_token(swap_id=swap.pk, engineer_id=cast.marco.pk)
    client = Client()
    assert client.get(f"/me/swaps/l/{token[:-2]}xx/").status_code == 400
    assert client.post(f"/me/swaps/l/{token}/", {"action": "approve"}).status_code == 400
    # A link naming Lena (signed, but not the teammate asked) does not decide her own swap.
    lena_token = swap_link_token(swap_id=swap.pk, engineer_id=cast.lena.pk)
    assert client.post(f"/me/swaps/l/{lena_token}/", {"action": "accept"}).status_code == 410
    clock.shift(timedelta(hours=25))
    assert client.post(f"/me/swaps/l/{token}/", {"action": "accept"}).status_code == 410
    swap.refresh_from_db()
    assert swap.status == "pending"


def test_a_shift_on_my_page_links_to_the_swap_form_with_it_chosen(cast: Cast) -> None:
    client = signed_in(cast.lena)
    home = client.get("/me/").content.decode()
    link = re.search(r'href="(/me/swaps/\?shift=[^"]+)"', home).group(1)
    form = client.get(link.replace("&amp;", "&")).content.decode()
    assert f'<option value="{shift_key(cast)}" selected>' in form
    # Another value selects nothing and changes nothing.
    other = client.get("/me/swaps/?shift=nonsense")
    assert (
        other.status_code == 200
        and " selected>" not in other.content.decode().split("id_shift")[1].split("</select>")[0]
    )
