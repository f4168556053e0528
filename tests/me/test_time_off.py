"""/me/time-off/: book time off typed in my zone, see who substitutes, cancel it; a local
time that does not exist or happens twice is a form error; bad input is a 400."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from oncall.audit.models import AuditEntry
from schedules.models import TimeOff
from schedules.selectors import oncall_engineer_ids
from tests.factories import EngineerFactory
from tests.me.conftest import Cast, signed_in

pytestmark = pytest.mark.django_db


def test_book_time_off_in_my_zone_and_see_who_substitutes(cast: Cast) -> None:
    lena = signed_in(cast.lena)
    # Lena's 2 Dec shift (09:00 UTC = 10:00 Berlin) while she is off all of 2 Dec, Berlin time.
    response = lena.post(
        "/me/time-off/new/",
        {"start": "2026-12-02T00:00", "end": "2026-12-03T00:00", "kind": "vacation", "note": "x"},
    )
    assert response.status_code == 302
    entry = TimeOff.objects.get(engineer=cast.lena)
    assert (entry.start, entry.end) == (
        datetime(2026, 12, 1, 23, tzinfo=UTC),
        datetime(2026, 12, 2, 23, tzinfo=UTC),
    )
    at = datetime(2026, 12, 2, 12, tzinfo=UTC)
    assert oncall_engineer_ids(schedule_id=cast.schedule.pk, at=at) == [cast.marco.pk]
    page = lena.get("/me/time-off/").content.decode()
    assert "Tue 1 Dec 2026, 23:00 CET → Wed 2 Dec 2026, 23:00 CET" not in page  # shown local
    assert "<strong>Wed 2 Dec 2026, 00:00 CET → Thu 3 Dec 2026, 00:00 CET</strong>" in page
    assert "Marco · Primary · Wed 2 Dec 2026, 10:00 CET → Thu 3 Dec 2026, 00:00 CET" in page
    assert AuditEntry.objects.filter(action="create", object_type="schedules.timeoff").exists()


def test_cancel_asks_once_then_the_shift_comes_back(cast: Cast) -> None:
    lena = signed_in(cast.lena)
    lena.post(
        "/me/time-off/new/",
        {"start": "2026-12-02T00:00", "end": "2026-12-03T00:00", "kind": "sick"},
    )
    entry = TimeOff.objects.get()
    confirm = lena.get(f"/me/time-off/{entry.pk}/cancel/")
    assert confirm.status_code == 200 and "Cancel this time off?" in confirm.content.decode()
    assert TimeOff.objects.filter(pk=entry.pk).exists()
    assert lena.post(f"/me/time-off/{entry.pk}/cancel/").status_code == 302
    assert not TimeOff.objects.exists()
    at = datetime(2026, 12, 2, 12, tzinfo=UTC)
    assert oncall_engineer_ids(schedule_id=cast.schedule.pk, at=at) == [cast.lena.pk]


def test_someone_elses_time_off_is_404(cast: Cast) -> None:
    signed_in(cast.marco).post(
        "/me/time-off/new/",
        {"start": "2026-12-02T00:00", "end": "2026-12-03T00:00", "kind": "vacation"},
    )
    entry = TimeOff.objects.get()
    other = signed_in(cast.lena)
    assert other.get(f"/me/time-off/{entry.pk}/cancel/").status_code == 404
    assert other.post(f"/me/time-off/{entry.pk}/cancel/").status_code == 404
    assert TimeOff.objects.filter(pk=entry.pk).exists()
    assert "Wed 2 Dec" not in other.get("/me/time-off/").content.decode().split("Book time off")[0]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"start": "2026-12-03T00:00", "end": "2026-12-02T00:00"}, "must be after start"),
        ({"start": "2026-11-01T00:00", "end": "2026-11-02T00:00"}, "in the past"),
        ({"start": "tomorrow", "end": "2026-12-02T00:00"}, "Enter a valid date/time"),
        (
            {"start": "2026-12-02T00:00", "end": "2026-12-03T00:00", "kind": "party"},
            "Select a valid choice",
        ),
        (
            {"start": "2027-03-28T02:30", "end": "2027-03-29T00:00"},
            "does not exist in Europe/Berlin",
        ),
        (
            {"start": "2026-12-02T00:00", "end": "2027-10-31T02:30"},
            "happens twice in Europe/Berlin",
        ),
    ],
)
def test_bad_time_off_is_a_400_naming_the_problem_and_nothing_saved(
    cast: Cast, data, reason
) -> None:
    response = signed_in(cast.lena).post("/me/time-off/new/", {"kind": "vacation", **data})
    assert response.status_code == 400
    text = response.content.decode()
    assert reason in text, text[text.find("errorlist") - 200 :][:600]
    assert not TimeOff.objects.exists()


def test_the_fields_name_my_zone(db) -> None:
    engineer = EngineerFactory(time_zone="America/New_York")
    page = signed_in(engineer).get("/me/time-off/").content.decode()
    assert "Start (America/New_York)" in page and "End (America/New_York)" in page
