"""oncall_apply writes through the same services as the API and the admin (issue 14, part
3): the same normalisation, validation and audit entries, whichever path a change takes.

Before, the people section saved rows itself: a phone number typed with spaces was stored
as typed (the API stores it without), a rule delay the API refuses was accepted, and a
schedule pruned from the file left no audit entry.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from oncall.audit.models import AuditEntry
from oncall.people.models import ContactMethod, Engineer
from schedules.models import HolidayCalendar, Schedule
from tests.config.conftest import run_apply
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _lena(doc: dict[str, Any]) -> dict[str, Any]:
    return next(e for e in doc["engineers"] if e["username"] == "lena")


def test_a_phone_number_from_the_file_is_stored_as_the_api_stores_it(example_doc, write) -> None:
    _lena(example_doc)["contact_methods"][1]["value"] = "+1 (202) 555-0109"
    _lena(example_doc)["contact_methods"][3]["value"] = "lena.fischer@EXAMPLE.com"
    out = run_apply(write(example_doc))
    lena = Engineer.objects.get(user__username="lena")
    assert "+ engineers[lena].contact_methods[sms:+12025550109]" in out
    assert set(lena.contact_methods.values_list("kind", "value")) >= {
        ("sms", "+12025550109"),
        ("email", "lena.fischer@example.com"),
    }

    # The API, given the same text for another engineer, stores the same value.
    staff = APIClient()
    staff.force_authenticate(UserFactory(is_staff=True))
    marcus = Engineer.objects.get(user__username="marcus")
    answer = staff.post(
        "/api/v1/contact-methods/",
        {"engineer": marcus.pk, "kind": "sms", "value": "+1 (202) 555-0109"},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["value"] == "+12025550109"

    # The same number typed another way is the same method: nothing to do.
    _lena(example_doc)["contact_methods"][1]["value"] = "+1 202 555 0109"
    _lena(example_doc)["notification_rules"][1]["contact"] = "sms:+1-202-555-0109"
    assert run_apply(write(example_doc)).startswith("No changes.")
    assert lena.contact_methods.filter(kind="sms").count() == 1


def test_one_number_twice_in_the_file_is_a_duplicate(example_doc, write) -> None:
    _lena(example_doc)["contact_methods"].append({"kind": "sms", "value": "+1 202 555 0101"})
    with pytest.raises(CommandError, match=r"contact_methods\[4\].value: duplicate: sms"):
        run_apply(write(example_doc))


def test_a_rule_delay_the_api_refuses_is_refused_in_the_file(example_doc, write) -> None:
    _lena(example_doc)["notification_rules"][2]["delay_minutes"] = 2000
    with pytest.raises(CommandError) as raised:
        run_apply(write(example_doc))
    assert str(raised.value).endswith(
        "engineers[0].notification_rules[2].delay_minutes: must be at most 1440 minutes (one day)"
    )
    assert not ContactMethod.objects.exists()  # the whole file rolled back


def test_labels_and_names_are_tidied_as_the_services_do(example_doc, write) -> None:
    _lena(example_doc)["display_name"] = "  Lena Fischer "
    _lena(example_doc)["contact_methods"][0]["label"] = " slack "
    _lena(example_doc)["notification_rules"][0]["contact"] = "slack"
    run_apply(write(example_doc))
    lena = Engineer.objects.get(user__username="lena")
    assert lena.display_name == "Lena Fischer"
    assert lena.contact_methods.get(kind="slack").label == "slack"
    assert run_apply(write(example_doc)) == "No changes.\n"


def test_every_people_write_of_the_file_is_audited_by_the_services(example_doc, write) -> None:
    path = write(example_doc)
    run_apply(path)
    made = AuditEntry.objects.filter(action="create")
    assert made.filter(object_type="oncall.contactmethod").count() == 13
    assert made.filter(object_type="oncall.notificationrule").count() == 15
    assert made.filter(object_type="oncall.teammembership").count() == 5


def test_a_schedule_pruned_from_the_file_is_deleted_with_an_audit_entry(example_doc, write) -> None:
    example_doc["schedules"].append({"team": "platform", "name": "Spare"})
    run_apply(write(example_doc))
    example_doc["schedules"].pop()
    assert "- schedules[platform/Spare]" in run_apply(write(example_doc), "--prune")
    assert not Schedule.objects.filter(name="Spare").exists()
    entry = AuditEntry.objects.get(object_type="schedules.schedule", action="delete")
    assert "Spare" in entry.object_repr
    assert entry.actor_kind == "config"


def test_a_holiday_calendar_from_the_file_is_recorded_as_through_the_api(
    example_doc, write
) -> None:
    """The same calendar written by the file (DE) and by the API (FR): the same audit
    entries, in the same order (the service writes its entry last)."""
    staff = APIClient()
    staff.force_authenticate(UserFactory(is_staff=True))

    def actions(name: str) -> list[str]:
        calendar = HolidayCalendar.objects.get(name=name)
        entries = AuditEntry.objects.filter(
            object_type="schedules.holidaycalendar", object_id=str(calendar.pk)
        )
        return list(entries.order_by("id").values_list("action", flat=True))

    example_doc["holiday_calendars"].append(
        {"name": "DE", "holidays": [{"date": "2026-12-25", "name": "Christmas"}]}
    )
    run_apply(write(example_doc))
    fr = staff.post(
        "/api/v1/holiday-calendars/",
        {"name": "FR", "holidays": [{"date": "2026-12-25", "name": "Christmas"}]},
        format="json",
    )
    assert fr.status_code == 201, fr.content
    assert actions("DE") == actions("FR") == ["holidays", "create"]

    example_doc["holiday_calendars"][-1] = {
        "name": "DE",
        "description": "Germany",
        "holidays": [{"date": "2026-12-26", "name": "Boxing Day"}],
    }
    out = run_apply(write(example_doc))
    assert "~ holiday_calendars[DE]: description '' -> 'Germany', holidays +1 -1" in out
    staff.put(
        f"/api/v1/holiday-calendars/{fr.json()['id']}/",
        {
            "name": "FR",
            "description": "France",
            "holidays": [{"date": "2026-12-26", "name": "Boxing Day"}],
        },
        format="json",
    )
    assert actions("DE") == actions("FR") == ["holidays", "create", "holidays", "update"]
    assert run_apply(write(example_doc)).startswith("No changes.")
