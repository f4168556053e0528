"""/me/contact/: edit a rung in place, move it up or down its ladder, edit or delete a
contact method — only one's own, bad input a 400 on the field with nothing saved."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from oncall.audit.models import AuditEntry
from oncall.people.models import ContactMethod, NotificationRule
from oncall.people.services.directory import notification_rule_move
from tests.factories import ContactMethodFactory, NotificationRuleFactory
from tests.me.conftest import Cast, signed_in


def _ladder(cast: Cast) -> tuple[NotificationRule, NotificationRule, NotificationRule]:
    def rung(kind: str, label: str, delay: int) -> NotificationRule:
        method = ContactMethodFactory(engineer=cast.lena, kind=kind, label=label)
        return NotificationRuleFactory(
            engineer=cast.lena, contact_method=method, delay_minutes=delay, urgency="high"
        )

    return rung("slack", "Slack", 0), rung("sms", "Mobile", 1), rung("voice", "Call", 5)


def _delays(*rules: NotificationRule) -> list[int]:
    return [NotificationRule.objects.get(pk=r.pk).delay_minutes for r in rules]


def test_edit_a_rung_in_place(cast: Cast) -> None:
    slack, sms, call = _ladder(cast)
    client = signed_in(cast.lena)
    data = {f"r{sms.pk}-urgency": "low", f"r{sms.pk}-contact_method": call.contact_method_id}
    data[f"r{sms.pk}-delay_minutes"] = 3
    response = client.post(f"/me/rules/{sms.pk}/edit/", data, follow=True)
    assert "Now Call (Phone call) after 3 min (low urgency)" in response.content.decode()
    sms.refresh_from_db()
    assert (sms.urgency, sms.contact_method_id, sms.delay_minutes) == (
        "low",
        call.contact_method_id,
        3,
    )
    assert AuditEntry.objects.filter(action="update", object_id=str(sms.pk)).exists()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"delay_minutes": "-1"}, "greater than or equal to 0"),
        ({"delay_minutes": "x"}, "Enter a whole number"),
        ({"delay_minutes": "2000"}, "less than or equal to 1440"),
        ({"urgency": "urgent"}, "Select a valid choice"),
        ({"contact_method": "999999"}, "Select a valid choice"),
        # The same method, delay and urgency as another rung: refused by the service.
        ({"delay_minutes": "5", "contact_method": "CALL"}, "already exists"),
    ],
)
def test_bad_rung_edit_is_a_400_on_the_field_and_nothing_saved(cast: Cast, change, reason):
    slack, sms, call = _ladder(cast)
    data = {"urgency": "high", "contact_method": sms.contact_method_id, "delay_minutes": 1}
    data.update(change)
    if data["contact_method"] == "CALL":
        data["contact_method"] = call.contact_method_id
    response = signed_in(cast.lena).post(
        f"/me/rules/{sms.pk}/edit/", {f"r{sms.pk}-{k}": v for k, v in data.items()}
    )
    page = response.content.decode()
    assert response.status_code == 400 and reason in page
    assert '<details class="edit" open>' in page  # the refused form is shown open
    sms.refresh_from_db()
    assert (sms.urgency, sms.contact_method_id, sms.delay_minutes) == (
        "high",
        sms.contact_method.pk,
        1,
    )


def test_someone_elses_method_in_a_rung_is_refused(cast: Cast) -> None:
    slack, sms, call = _ladder(cast)
    theirs = ContactMethodFactory(engineer=cast.marco)
    data = {f"r{sms.pk}-urgency": "high", f"r{sms.pk}-contact_method": theirs.pk}
    data[f"r{sms.pk}-delay_minutes"] = 1
    response = signed_in(cast.lena).post(f"/me/rules/{sms.pk}/edit/", data)
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert NotificationRule.objects.get(pk=sms.pk).contact_method_id == sms.contact_method_id


def test_move_up_and_down_swaps_delays(cast: Cast) -> None:
    slack, sms, call = _ladder(cast)
    client = signed_in(cast.lena)
    response = client.post(f"/me/rules/{call.pk}/up/", follow=True)
    assert "Call (Phone call) now after 1 min" in response.content.decode()
    assert _delays(slack, sms, call) == [0, 5, 1]
    assert client.post(f"/me/rules/{slack.pk}/down/").status_code == 302
    assert _delays(slack, sms, call) == [1, 5, 0]
    # At the top already: nothing changes, and the page says so.
    response = client.post(f"/me/rules/{call.pk}/up/", follow=True)
    assert "already at the top" in response.content.decode()
    assert _delays(slack, sms, call) == [1, 5, 0]
    assert client.post(f"/me/rules/{call.pk}/sideways/").status_code == 400
    assert _delays(slack, sms, call) == [1, 5, 0]


def test_move_service_refuses_what_would_change_nothing(cast: Cast) -> None:
    slack, sms, call = _ladder(cast)
    same_delay = NotificationRuleFactory(
        engineer=cast.lena, contact_method=call.contact_method, delay_minutes=1
    )
    with pytest.raises(ValidationError, match="same time"):
        notification_rule_move(rule=same_delay, direction="up")  # sms is also at 1 min
    with pytest.raises(ValidationError, match="same method"):
        notification_rule_move(rule=call, direction="up")  # same_delay is also a call
    assert _delays(slack, sms, call, same_delay) == [0, 1, 5, 1]
    assert notification_rule_move(rule=slack, direction="up") is None


def test_someone_elses_rungs_and_methods_are_404_and_unchanged(cast: Cast) -> None:
    rule = NotificationRuleFactory(engineer=cast.marco, delay_minutes=2)
    theirs = rule.contact_method
    client = signed_in(cast.lena)
    data = {f"r{rule.pk}-urgency": "low", f"r{rule.pk}-delay_minutes": 9}
    assert client.post(f"/me/rules/{rule.pk}/edit/", data).status_code == 404
    assert client.post(f"/me/rules/{rule.pk}/up/").status_code == 404
    data = {f"m{theirs.pk}-value": "+491515550199", f"m{theirs.pk}-label": "mine"}
    assert client.post(f"/me/contact/{theirs.pk}/edit/", data).status_code == 404
    assert client.get(f"/me/contact/{theirs.pk}/delete/").status_code == 404
    assert client.post(f"/me/contact/{theirs.pk}/delete/").status_code == 404
    rule.refresh_from_db()
    theirs.refresh_from_db()
    assert (rule.urgency, rule.delay_minutes, theirs.label) == ("high", 2, theirs.label)
    assert ContactMethod.objects.filter(pk=theirs.pk).exists()


def test_edit_a_methods_label_and_value_which_must_be_verified_again(cast: Cast) -> None:
    phone = ContactMethodFactory(engineer=cast.lena, kind="sms", label="Mobile")
    assert phone.verified_at is not None
    client = signed_in(cast.lena)
    data = {f"m{phone.pk}-value": phone.value, f"m{phone.pk}-label": "Work phone"}
    response = client.post(f"/me/contact/{phone.pk}/edit/", data, follow=True)
    assert "Saved Work phone (SMS)." in response.content.decode()
    phone.refresh_from_db()
    assert phone.label == "Work phone" and phone.verified_at is not None
    data = {f"m{phone.pk}-value": "+49 151 555 0177", f"m{phone.pk}-label": "Work phone"}
    response = client.post(f"/me/contact/{phone.pk}/edit/", data, follow=True)
    assert "verify the new value" in response.content.decode()
    phone.refresh_from_db()
    assert phone.value == "+491515550177" and phone.verified_at is None


@pytest.mark.parametrize(
    ("value", "reason"), [("", "This field is required"), ("not a phone", "value")]
)
def test_bad_method_edit_is_a_400_and_nothing_saved(cast: Cast, value, reason) -> None:
    phone = ContactMethodFactory(engineer=cast.lena, kind="sms", label="Mobile")
    before = (phone.value, phone.label, phone.verified_at)
    data = {f"m{phone.pk}-value": value, f"m{phone.pk}-label": "Changed"}
    response = signed_in(cast.lena).post(f"/me/contact/{phone.pk}/edit/", data)
    assert response.status_code == 400 and reason in response.content.decode()
    phone.refresh_from_db()
    assert (phone.value, phone.label, phone.verified_at) == before


def test_delete_a_method_asks_once_and_takes_its_rules(cast: Cast) -> None:
    slack, sms, call = _ladder(cast)
    phone = sms.contact_method
    client = signed_in(cast.lena)
    confirm = client.get(f"/me/contact/{phone.pk}/delete/")
    assert confirm.status_code == 200 and "High urgency, after 1 min" in confirm.content.decode()
    assert ContactMethod.objects.filter(pk=phone.pk).exists()
    response = client.post(f"/me/contact/{phone.pk}/delete/", follow=True)
    assert "Deleted Mobile (SMS) and its rules." in response.content.decode()
    assert not ContactMethod.objects.filter(pk=phone.pk).exists()
    assert not NotificationRule.objects.filter(pk=sms.pk).exists()
    assert NotificationRule.objects.filter(engineer=cast.lena).count() == 2
