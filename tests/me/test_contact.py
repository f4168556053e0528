"""/me/contact/: add a phone, verify it with the code it receives (through the loopback
Twilio), build my ladder per urgency, send myself a test page (it arrives, its result is
shown, it is rate limited and audited); only my own things; bad input is a 400."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from oncall.audit.models import AuditEntry
from oncall.people.models import ContactMethod, NotificationRule
from paging.engine import tick
from paging.models import Message
from tests.factories import ContactMethodFactory, NotificationRuleFactory
from tests.me.conftest import Cast, signed_in

pytestmark = pytest.mark.django_db


def test_add_and_verify_a_phone_with_the_code_it_receives(cast: Cast, fake_twilio) -> None:
    client = signed_in(cast.lena)
    response = client.post(
        "/me/contact/add/", {"kind": "sms", "value": "+49 151 2345 6789", "label": "Mobile"}
    )
    assert response.status_code == 302
    phone = ContactMethod.objects.get(engineer=cast.lena)
    assert (phone.value, phone.label, phone.verified_at) == ("+4915123456789", "Mobile", None)
    page = client.get("/me/contact/").content.decode()
    assert "not verified" in page and "Send me a test page" not in page

    assert client.post(f"/me/contact/{phone.pk}/send-code/").status_code == 302
    tick()
    sms = fake_twilio.take_one()
    assert sms.form["To"] == "+4915123456789"
    code = re.search(r"\b(\d{6})\b", sms.form["Body"]).group(1)

    wrong = client.post(
        f"/me/contact/{phone.pk}/verify/", {"code": "000000" if code != "000000" else "111111"}
    )
    assert wrong.status_code == 400 and "wrong code; 4 attempts left" in wrong.content.decode()
    bad = client.post(f"/me/contact/{phone.pk}/verify/", {"code": "12ab"})
    assert bad.status_code == 400 and "must be the 6 digits" in bad.content.decode()
    empty = client.post(f"/me/contact/{phone.pk}/verify/", {})
    assert empty.status_code == 400 and "This field is required" in empty.content.decode()
    phone.refresh_from_db()
    assert phone.verified_at is None

    done = client.post(f"/me/contact/{phone.pk}/verify/", {"code": code}, follow=True)
    assert "Mobile (SMS) is verified" in done.content.decode()
    phone.refresh_from_db()
    assert phone.verified_at is not None
    assert AuditEntry.objects.filter(action="verify", object_id=str(phone.pk)).exists()


def test_a_second_code_within_a_minute_is_refused_with_429(cast: Cast, fake_twilio) -> None:
    phone = ContactMethodFactory(engineer=cast.lena, verified_at=None, value="+15551230001")
    client = signed_in(cast.lena)
    assert client.post(f"/me/contact/{phone.pk}/send-code/").status_code == 302
    again = client.post(f"/me/contact/{phone.pk}/send-code/")
    assert again.status_code == 429 and int(again["Retry-After"]) > 0
    assert "less than 60 seconds" in again.content.decode()
    assert Message.objects.filter(purpose="verification").count() == 1
    tick()
    fake_twilio.take_one()


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ({"kind": "sms", "value": "not a phone"}, "value", "E.164"),
        ({"kind": "pigeon", "value": "x"}, "kind", "Select a valid choice"),
        ({"kind": "email", "value": "nope@"}, "value", "is not an e-mail address"),
        ({"kind": "sms", "value": ""}, "value", "This field is required"),
        ({"kind": "sms", "value": "+1" + "5" * 300}, "value", "at most 254"),
    ],
)
def test_bad_contact_input_is_a_400_on_the_field_and_nothing_saved(
    cast: Cast, data, field, reason
) -> None:
    response = signed_in(cast.lena).post("/me/contact/add/", data)
    assert response.status_code == 400
    text = response.content.decode()
    assert reason.lower() in text.lower(), text[text.find("errorlist") - 300 :][:800]
    assert not ContactMethod.objects.exists()


def test_a_duplicate_method_is_refused_on_the_value(cast: Cast) -> None:
    ContactMethodFactory(engineer=cast.lena, kind="email", value="lena@example.test")
    response = signed_in(cast.lena).post(
        "/me/contact/add/", {"kind": "email", "value": "lena@example.test"}
    )
    assert (
        response.status_code == 400 and "already has the email contact" in response.content.decode()
    )
    assert ContactMethod.objects.filter(engineer=cast.lena).count() == 1


def test_the_ladder_per_urgency_by_label(cast: Cast) -> None:
    slack = ContactMethodFactory(engineer=cast.lena, kind="slack", value="U0LENA", label="Slack")
    sms = ContactMethodFactory(engineer=cast.lena, kind="sms", label="Mobile")
    client = signed_in(cast.lena)
    for method, delay in ((sms, 1), (slack, 0)):
        data = {"urgency": "high", "contact_method": method.pk, "delay_minutes": delay}
        assert client.post("/me/rules/add/", data).status_code == 302
    page = client.get("/me/contact/").content.decode()
    ladder = re.search(
        r"<h3>High urgency</h3>\s*<ol class=\"ladder\">(.*?)</ol>", page, re.S
    ).group(1)
    rungs = [
        " ".join(re.sub(r"<[^>]+>", " ", li).split())
        for li in re.findall(r"<li id=\"rung-\d+\">(.*?)<div", ladder, re.S)
    ]
    assert rungs == ["Slack (Slack) at once", "Mobile (SMS) after 1 min"]
    assert "No rules: you are not paged for low urgency incidents" in page
    # The same rung twice is refused, on top of the form.
    dup = client.post(
        "/me/rules/add/", {"urgency": "high", "contact_method": sms.pk, "delay_minutes": 1}
    )
    assert dup.status_code == 400 and "already exists" in dup.content.decode()
    assert NotificationRule.objects.filter(engineer=cast.lena).count() == 2


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"urgency": "high", "delay_minutes": -1}, "greater than or equal to 0"),
        ({"urgency": "high", "delay_minutes": 5000}, "less than or equal to 1440"),
        ({"urgency": "urgent", "delay_minutes": 0}, "Select a valid choice"),
        ({"urgency": "high", "delay_minutes": "soon"}, "Enter a whole number"),
    ],
)
def test_bad_rule_input_is_a_400_and_nothing_saved(cast: Cast, data, reason) -> None:
    sms = ContactMethodFactory(engineer=cast.lena)
    response = signed_in(cast.lena).post("/me/rules/add/", {**data, "contact_method": sms.pk})
    assert response.status_code == 400 and reason in response.content.decode()
    assert not NotificationRule.objects.exists()


def test_a_rule_on_someone_elses_method_is_refused(cast: Cast) -> None:
    theirs = ContactMethodFactory(engineer=cast.marco)
    response = signed_in(cast.lena).post(
        "/me/rules/add/", {"urgency": "high", "contact_method": theirs.pk, "delay_minutes": 0}
    )
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert not NotificationRule.objects.exists()


def test_remove_a_rule_asks_once(cast: Cast) -> None:
    rule = NotificationRuleFactory(engineer=cast.lena, delay_minutes=5)
    client = signed_in(cast.lena)
    confirm = client.get(f"/me/rules/{rule.pk}/delete/")
    assert confirm.status_code == 200 and "after 5 min" in confirm.content.decode()
    assert NotificationRule.objects.filter(pk=rule.pk).exists()
    assert client.post(f"/me/rules/{rule.pk}/delete/").status_code == 302
    assert not NotificationRule.objects.filter(pk=rule.pk).exists()
    assert AuditEntry.objects.filter(
        action="delete", object_type="oncall.notificationrule"
    ).exists()


def test_someone_elses_methods_and_rules_are_404_and_unchanged(cast: Cast) -> None:
    theirs = ContactMethodFactory(engineer=cast.marco, verified_at=None)
    rule = NotificationRuleFactory(engineer=cast.marco)
    client = signed_in(cast.lena)
    for url in ("send-code", "verify", "test"):
        assert client.post(f"/me/contact/{theirs.pk}/{url}/", {"code": "123456"}).status_code == 404
    assert client.get(f"/me/rules/{rule.pk}/delete/").status_code == 404
    assert client.post(f"/me/rules/{rule.pk}/delete/").status_code == 404
    assert NotificationRule.objects.filter(pk=rule.pk).exists()
    assert not Message.objects.exists()
    assert str(theirs.value) not in client.get("/me/contact/").content.decode()


def test_a_test_page_arrives_at_twilio_and_its_result_is_shown(
    cast: Cast, fake_twilio, clock
) -> None:
    phone = ContactMethodFactory(
        engineer=cast.lena, kind="sms", value="+15551230002", label="Mobile"
    )
    client = signed_in(cast.lena)
    assert client.post(f"/me/contact/{phone.pk}/test/").status_code == 302
    page = client.get("/me/contact/").content.decode()
    assert "Last test page Mon 30 Nov 2026, 09:00:00 CET: queued" in page
    tick()
    sms = fake_twilio.take_one()
    assert sms.form["To"] == "+15551230002" and sms.form["Body"].startswith("Test page for Lena")
    message = Message.objects.get(contact_method=phone)
    assert (message.status, message.purpose) == ("sent", "notice")
    page = client.get("/me/contact/").content.decode()
    assert f"sent at Mon 30 Nov 2026, 09:00:00 CET (provider id {message.provider_id})" in page
    assert AuditEntry.objects.filter(action="test_page", object_id=str(phone.pk)).exists()

    # Rate limited: once a minute, five an hour.
    again = client.post(f"/me/contact/{phone.pk}/test/")
    assert again.status_code == 429 and "less than a minute ago" in again.content.decode()
    for _ in range(4):
        clock.shift(timedelta(minutes=2))
        assert client.post(f"/me/contact/{phone.pk}/test/").status_code == 302
    clock.shift(timedelta(minutes=2))
    sixth = client.post(f"/me/contact/{phone.pk}/test/")
    assert (
        sixth.status_code == 429
        and "5 test pages were sent in the last hour" in sixth.content.decode()
    )
    assert Message.objects.filter(contact_method=phone).count() == 5
    tick()
    bodies = [r.form["Body"] for r in fake_twilio.take()]
    # (Lena's shift reminder goes out too: her shift starts at 09:00 UTC.)
    assert len([b for b in bodies if b.startswith("Test page for Lena")]) == 4


def test_no_test_page_to_an_unverified_or_disabled_method(cast: Cast) -> None:
    unverified = ContactMethodFactory(engineer=cast.lena, verified_at=None)
    client = signed_in(cast.lena)
    response = client.post(f"/me/contact/{unverified.pk}/test/")
    assert response.status_code == 400 and "verify this number first" in response.content.decode()
    off = ContactMethodFactory(
        engineer=cast.lena,
        kind="email",
        disabled_at=cast.lena.created_at,
        disabled_reason="bounced",
    )
    response = client.post(f"/me/contact/{off.pk}/test/")
    assert response.status_code == 400 and "is disabled (bounced)" in response.content.decode()
    assert not Message.objects.exists()
