"""Twilio webhooks: SMS replies (every grammar form), status callbacks, calls and
keypresses, signatures and hostile input."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from paging.channels.twilio.models import InboundSms, SmsReplyCode
from paging.channels.twilio.reply_codes import reply_code_for
from paging.incident_actions import incident_acknowledge, incident_resolve
from paging.models import Incident, IncidentEvent, Message
from tests.channels.twilio_email_links.conftest import twilio_post, twilio_sign
from tests.support import T0, engineer_with, fire, tick_at

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.channels.twilio_email_links.urls")]

ALICE_PHONE = "+15551230001"


def sms_from(client, body: str, phone: str = ALICE_PHONE, sid: str | None = None, **kw):
    params = {
        "MessageSid": sid or "SM" + secrets.token_hex(16),
        "AccountSid": "AC" + "0" * 32,
        "From": phone,
        "To": "+15559870000",
        "Body": body,
        "NumMedia": "0",
    }
    return twilio_post(client, "/twilio/sms/", params, **kw)


def reply_text(response) -> str:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/xml")
    return response.content.decode()


@pytest.fixture
def paged(clock, cast, fake_twilio):
    """Alice was texted about one incident (code 1)."""
    incident = fire([cast.alice])
    tick_at(clock, T0)
    fake_twilio.take_one()
    return incident


# --- SMS replies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("ACK", "acknowledged"),
        ("1a", "acknowledged"),
        ("1A", "acknowledged"),
        ("a 1", "acknowledged"),
        ("ack 1", "acknowledged"),
        ("  Ack 1. ", "acknowledged"),
        ("1 ack", "acknowledged"),
        ("1r", "resolved"),
        ("resolve 1", "resolved"),
        ("r 1", "resolved"),
    ],
)
def test_sms_reply_forms(client, paged, cast, body, status) -> None:
    text = reply_text(sms_from(client, body))
    paged.refresh_from_db()
    assert paged.status == status
    if status == "acknowledged":
        assert paged.acknowledged_by_id == cast.alice.pk and paged.acknowledged_via == "sms"
        assert f"<Message>Acknowledged #{paged.pk} DB down.</Message>" in text
    else:
        assert paged.resolved_by_id == cast.alice.pk and paged.resolved_via == "sms"
        assert f"Resolved #{paged.pk}" in text


@pytest.mark.parametrize("body", ["1e", "escalate 1", "e 1", "esc 1"])
def test_sms_escalate_forms(client, paged, body) -> None:
    text = reply_text(sms_from(client, body))
    assert f"Escalated #{paged.pk}" in text
    event = IncidentEvent.objects.get(incident=paged, kind=IncidentEvent.Kind.ESCALATED)
    assert event.via == "sms"


def test_ack_stops_paging_through_sms_loop(client, clock, paged, fake_twilio) -> None:
    reply_text(sms_from(client, "1a"))
    for minutes in (5, 10, 15, 30):
        tick_at(clock, T0 + timedelta(minutes=minutes))
    assert fake_twilio.take() == []
    assert not Message.objects.filter(incident=paged, status=Message.Status.PENDING).exists()


def test_second_ack_names_who_was_first(client, paged, cast) -> None:
    incident_acknowledge(incident_id=paged.pk, engineer_id=cast.bob.pk, via="slack")
    text = reply_text(sms_from(client, "1a"))
    assert "was already acknowledged by Bob at 03:00 UTC (via slack)" in text
    paged.refresh_from_db()
    assert paged.acknowledged_by_id == cast.bob.pk


def test_plain_ack_with_several_open_incidents_asks_which(client, clock, cast, fake_twilio):
    first = fire([cast.alice], key="a", title="DB down")
    second = fire([cast.alice], key="b", title="Disk full")
    tick_at(clock, T0)
    bodies = sorted(r.form["Body"] for r in fake_twilio.take())
    assert any("Reply 1a" in b for b in bodies) and any("Reply 2a" in b for b in bodies)
    text = reply_text(sms_from(client, "ACK"))
    assert "2 open incidents" in text
    assert f"1 = #{first.pk} DB down" in text and f"2 = #{second.pk} Disk full" in text
    assert Incident.objects.filter(status="triggered").count() == 2
    reply_text(sms_from(client, "2a"))
    second.refresh_from_db()
    first.refresh_from_db()
    assert (first.status, second.status) == ("triggered", "acknowledged")


def test_unknown_code_gets_a_helpful_reply(client, paged) -> None:
    text = reply_text(sms_from(client, "7a"))
    assert "Code 7 does not match an incident paged to this phone" in text
    assert f"Open: 1 = #{paged.pk} DB down" in text
    paged.refresh_from_db()
    assert paged.status == "triggered"


def test_stale_code_says_it_is_resolved(client, paged, cast) -> None:
    incident_resolve(incident_id=paged.pk, engineer_id=cast.bob.pk, via="api")
    text = reply_text(sms_from(client, "1a"))
    assert f"#{paged.pk} DB down was already resolved by Bob (via api)" in text
    text = reply_text(sms_from(client, "ACK"))
    assert "You have no open incidents paged to this phone" in text


def test_nonsense_and_unknown_phone(client, paged) -> None:
    text = reply_text(sms_from(client, "what is going on?"))
    assert "Sorry, I did not understand" in text and "1a to acknowledge" in text
    text = reply_text(sms_from(client, "1a", phone="+15550000000"))
    assert "does not match" in text or "not linked" in text
    paged.refresh_from_db()
    assert paged.status == "triggered"


def test_error_replies_are_rate_limited(client, clock, paged, settings) -> None:
    settings.SMS_ERROR_REPLY_LIMIT = 3
    settings.SMS_ERROR_REPLY_WINDOW_SECONDS = 600
    texts = [reply_text(sms_from(client, "hello")) for _ in range(5)]
    assert all("<Message>" in t for t in texts[:3])
    assert all("<Message>" not in t and "<Response>" in t for t in texts[3:])
    # A real command still works and is answered.
    assert "Acknowledged" in reply_text(sms_from(client, "1a"))
    clock.shift(timedelta(minutes=11))
    assert "<Message>" in reply_text(sms_from(client, "hello"))
    assert InboundSms.objects.filter(replied=False).count() == 2


def test_reply_codes_unique_per_phone_and_not_reused_while_answerable(
    cast, clock, settings
) -> None:
    settings.SMS_REPLY_CODE_REUSE_AFTER_SECONDS = 3600
    a = fire([cast.alice], key="a")
    b = fire([cast.alice], key="b")
    assert reply_code_for(phone=ALICE_PHONE, incident_id=a.pk, engineer_id=cast.alice.pk) == 1
    assert reply_code_for(phone=ALICE_PHONE, incident_id=b.pk, engineer_id=cast.alice.pk) == 2
    # Same incident, same code; another phone has its own numbering.
    assert reply_code_for(phone=ALICE_PHONE, incident_id=a.pk, engineer_id=cast.alice.pk) == 1
    assert reply_code_for(phone="+15551230002", incident_id=b.pk, engineer_id=None) == 1
    incident_resolve(incident_id=a.pk)
    c = fire([cast.alice], key="c")
    # Resolved only just now: a late "1a" must still mean incident a.
    assert reply_code_for(phone=ALICE_PHONE, incident_id=c.pk, engineer_id=cast.alice.pk) == 3
    clock.shift(timedelta(hours=2))
    d = fire([cast.alice], key="d")
    assert reply_code_for(phone=ALICE_PHONE, incident_id=d.pk, engineer_id=cast.alice.pk) == 1
    slot = SmsReplyCode.objects.get(phone=ALICE_PHONE, code=1)
    assert slot.incident_id == d.pk


def test_bundle_sms_lists_a_code_per_incident(client, clock, cast, fake_twilio, settings):
    settings.PAGING_THROTTLE_LIMITS = {"sms": 1, "voice": 3}
    incidents = [fire([cast.alice], key=f"k{i}", title=f"Thing {i}") for i in range(3)]
    tick_at(clock, T0)
    body = fake_twilio.take_one().form["Body"]
    assert body.startswith("3 open incidents:")
    for code, incident in enumerate(incidents, start=1):
        assert f"[{code}] payments: Thing {code - 1} (#{incident.pk});" in body
    reply_text(sms_from(client, "3a"))
    incidents[2].refresh_from_db()
    assert incidents[2].status == "acknowledged"


# --- status callbacks -----------------------------------------------------------------


def status_post(client, message: Message, **fields: str):
    return twilio_post(client, f"/twilio/status/{message.pk}/", fields)


def test_sms_delivered_and_undelivered(client, paged) -> None:
    sms = Message.objects.get(incident=paged, kind="sms")
    response = status_post(client, sms, MessageSid=sms.provider_id, MessageStatus="sent")
    assert response.status_code == 204
    sms.refresh_from_db()
    assert sms.status == Message.Status.SENT
    status_post(client, sms, MessageSid=sms.provider_id, MessageStatus="delivered")
    sms.refresh_from_db()
    assert sms.status == Message.Status.DELIVERED
    event = IncidentEvent.objects.get(kind=IncidentEvent.Kind.NOTIFICATION_DELIVERED)
    assert event.message_id == sms.pk and "delivered" in event.text
    # Out of order / repeated: nothing changes.
    status_post(client, sms, MessageSid=sms.provider_id, MessageStatus="undelivered")
    sms.refresh_from_db()
    assert sms.status == Message.Status.DELIVERED


def test_sms_undelivered_records_the_error(client, paged) -> None:
    sms = Message.objects.get(incident=paged, kind="sms")
    status_post(
        client, sms, MessageSid=sms.provider_id, MessageStatus="undelivered", ErrorCode="30003"
    )
    sms.refresh_from_db()
    assert sms.status == Message.Status.FAILED
    assert sms.last_error == "undelivered (Twilio error 30003)"
    event = IncidentEvent.objects.get(kind=IncidentEvent.Kind.NOTIFICATION_FAILED)
    assert "30003" in event.text


def test_callback_for_another_sid_changes_nothing(client, paged) -> None:
    sms = Message.objects.get(incident=paged, kind="sms")
    status_post(client, sms, MessageSid="SMdeadbeef", MessageStatus="failed")
    sms.refresh_from_db()
    assert sms.status == Message.Status.SENT


@pytest.mark.parametrize("call_status", ["no-answer", "busy", "failed"])
def test_call_not_reached_goes_on_the_timeline_and_next_rule_continues(
    client, clock, paged, fake_twilio, call_status
) -> None:
    tick_at(clock, T0 + timedelta(minutes=5))
    call = fake_twilio.take_one()
    voice = Message.objects.get(incident=paged, kind="voice")
    assert voice.provider_id
    status_post(client, voice, CallSid=voice.provider_id, CallStatus=call_status)
    voice.refresh_from_db()
    assert voice.status == Message.Status.FAILED
    assert voice.last_error == f"not reached: {call_status}"
    event = IncidentEvent.objects.get(kind=IncidentEvent.Kind.NOTIFICATION_FAILED)
    assert f"not reached: {call_status}" in event.text and call.form["To"] in event.text
    # Alice's next rule (e-mail at +10 min, console here) still goes out.
    tick_at(clock, T0 + timedelta(minutes=10))
    email = Message.objects.get(incident=paged, kind="email")
    assert email.status == Message.Status.SENT


def test_call_answered_is_delivered(client, clock, paged, fake_twilio) -> None:
    tick_at(clock, T0 + timedelta(minutes=5))
    fake_twilio.take_one()
    voice = Message.objects.get(incident=paged, kind="voice")
    status_post(client, voice, CallSid=voice.provider_id, CallStatus="completed")
    voice.refresh_from_db()
    assert voice.status == Message.Status.DELIVERED


# --- calls ------------------------------------------------------------------------------


@pytest.fixture
def called(clock, paged, fake_twilio) -> Message:
    tick_at(clock, T0 + timedelta(minutes=5))
    fake_twilio.take_one()
    return Message.objects.get(incident=paged, kind="voice")


def call_post(client, path: str, **fields: str):
    """POST as Twilio does during the call placed for the message in ``path``."""
    message_id = int(path.split("/")[3])
    sid = Message.objects.filter(pk=message_id).values_list("provider_id", flat=True).first()
    params = {"CallSid": sid or "CA" + "0" * 32, "From": "+15559870000", **fields}
    return twilio_post(client, path, params)


def test_call_twiml_reads_the_incident_and_offers_keys(client, called, paged) -> None:
    xml = reply_text(call_post(client, f"/twilio/voice/{called.pk}/"))
    gather = f"https://oncall.example.test/twilio/voice/{called.pk}/gather/"
    assert f'<Gather numDigits="1" action="{gather}" method="POST"' in xml
    assert f"Incident {paged.pk} on service payments, severity critical: DB down." in xml
    assert "Open for 5 minutes." in xml
    assert "Press 1 to acknowledge, 2 to escalate, 3 to resolve, 9 to repeat." in xml


@pytest.mark.parametrize(
    ("digit", "status", "said"),
    [("1", "acknowledged", "Acknowledged"), ("3", "resolved", "Resolved")],
)
def test_keypress_acts(client, called, paged, cast, digit, status, said) -> None:
    xml = reply_text(call_post(client, f"/twilio/voice/{called.pk}/gather/", Digits=digit))
    assert f"<Say>{said} #{paged.pk} DB down.</Say>" in xml and "<Hangup/>" in xml
    paged.refresh_from_db()
    assert paged.status == status
    who = paged.acknowledged_by_id if digit == "1" else paged.resolved_by_id
    assert who == cast.alice.pk
    assert (paged.acknowledged_via if digit == "1" else paged.resolved_via) == "voice"


def test_keypress_escalate(client, called, paged) -> None:
    xml = reply_text(call_post(client, f"/twilio/voice/{called.pk}/gather/", Digits="2"))
    assert f"Escalated #{paged.pk}" in xml
    assert IncidentEvent.objects.filter(incident=paged, kind="escalated", via="voice").exists()


def test_keypress_repeat_and_unknown(client, called, paged) -> None:
    xml = reply_text(call_post(client, f"/twilio/voice/{called.pk}/gather/", Digits="9"))
    assert "Press 1 to acknowledge" in xml and "Sorry" not in xml
    xml = reply_text(call_post(client, f"/twilio/voice/{called.pk}/gather/", Digits="7"))
    assert "Sorry, that key does nothing." in xml and "<Gather" in xml
    xml = reply_text(call_post(client, f"/twilio/voice/{called.pk}/gather/"))
    assert "<Gather" in xml
    paged.refresh_from_db()
    assert paged.status == "triggered"


def test_keypress_ack_stops_the_paging(client, clock, called, paged, fake_twilio) -> None:
    reply_text(call_post(client, f"/twilio/voice/{called.pk}/gather/", Digits="1"))
    for minutes in (10, 15, 30, 60):
        tick_at(clock, T0 + timedelta(minutes=minutes))
    assert fake_twilio.take() == []


def test_voice_verification_says_the_body(client, clock, cast, fake_twilio) -> None:
    from oncall.people.services.verification import contact_method_send_verification

    cast.voice.verified_at = None
    cast.voice.save()
    contact_method_send_verification(contact_method=cast.voice)
    tick_at(clock, T0)
    fake_twilio.take_one()
    message = Message.objects.get(purpose="verification")
    xml = reply_text(call_post(client, f"/twilio/voice/{message.pk}/"))
    assert xml.count(f"<Say>{message.body}</Say>") == 1


# --- signatures and hostile input ------------------------------------------------------


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl", "x" * 500])
def test_unsigned_or_forged_sms_is_403(client, paged, signature) -> None:
    response = sms_from(client, "1a", signature=signature)
    assert response.status_code == 403
    paged.refresh_from_db()
    assert paged.status == "triggered"
    assert not InboundSms.objects.exists()


def test_signature_over_another_url_or_token_is_403(client, paged) -> None:
    params = {"From": ALICE_PHONE, "Body": "1a", "MessageSid": "SM1"}
    wrong_token = twilio_sign("/twilio/sms/", params, token="another-token")
    assert twilio_post(client, "/twilio/sms/", params, signature=wrong_token).status_code == 403
    # Signed for the status URL, replayed at the SMS URL.
    other_url = twilio_sign("/twilio/status/1/", params)
    assert twilio_post(client, "/twilio/sms/", params, signature=other_url).status_code == 403
    # Body changed after signing.
    signed = twilio_sign("/twilio/sms/", params)
    tampered = {**params, "Body": "1r"}
    assert twilio_post(client, "/twilio/sms/", tampered, signature=signed).status_code == 403
    paged.refresh_from_db()
    assert paged.status == "triggered"


def test_every_twilio_endpoint_needs_a_signature(client, called, paged) -> None:
    for path, fields in [
        (f"/twilio/voice/{called.pk}/gather/", {"Digits": "1"}),
        (f"/twilio/voice/{called.pk}/", {}),
        (f"/twilio/status/{called.pk}/", {"CallSid": called.provider_id, "CallStatus": "busy"}),
    ]:
        response = twilio_post(client, path, fields, signature=None)
        assert response.status_code == 403, path
    paged.refresh_from_db()
    called.refresh_from_db()
    assert paged.status == "triggered" and called.status == Message.Status.SENT


def test_no_auth_token_configured_refuses_everything(client, paged, settings) -> None:
    params = {"From": ALICE_PHONE, "Body": "1a"}
    signature = twilio_sign("/twilio/sms/", params)
    settings.TWILIO_AUTH_TOKEN = ""
    assert twilio_post(client, "/twilio/sms/", params, signature=signature).status_code == 403


def test_get_is_405(client) -> None:
    assert client.get("/twilio/sms/").status_code == 405


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/twilio/sms/", {"Body": "1a"}),  # no From
        ("/twilio/sms/", {"From": "'; drop table", "Body": "1a"}),
        ("/twilio/status/1/", {"MessageSid": "SM1"}),  # no status
        ("/twilio/status/1/", {"MessageSid": "SM1", "MessageStatus": "<script>"}),
        ("/twilio/status/1/", {"MessageSid": "../../x", "MessageStatus": "failed"}),
        ("/twilio/status/1/", {"MessageSid": "SM1", "MessageStatus": "failed", "ErrorCode": "x"}),
    ],
)
def test_malformed_signed_input_is_400(client, paged, path, fields) -> None:
    response = twilio_post(client, path, fields)
    assert response.status_code == 400
    assert response.content  # names the field
    paged.refresh_from_db()
    assert paged.status == "triggered"


@pytest.mark.parametrize(
    "body", ["", "\x00\x01", "1" * 5000, "ack " + "9" * 30, "😀 1a", "1a; 2r", "-1a", "0a"]
)
def test_odd_sms_bodies_never_500(client, paged, body) -> None:
    response = sms_from(client, body)
    assert response.status_code == 200
    paged.refresh_from_db()
    assert paged.status == "triggered"


def test_unknown_or_huge_message_ids(client, paged) -> None:
    for mid in ("999999", "9" * 30):
        response = twilio_post(
            client, f"/twilio/status/{mid}/", {"MessageSid": "SM1", "MessageStatus": "failed"}
        )
        assert response.status_code == 204
        params = {"Digits": "1", "CallSid": "CA1"}
        xml = reply_text(twilio_post(client, f"/twilio/voice/{mid}/gather/", params))
        assert "expired" in xml
    paged.refresh_from_db()
    assert paged.status == "triggered"


def test_oversized_or_overfull_posts_are_4xx(client, paged, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    big = {"From": ALICE_PHONE, "Body": "1a" + " " * 20_000}
    response = twilio_post(client, "/twilio/sms/", big, signature="x")
    assert response.status_code == 400
    many = {f"f{i}": "x" for i in range(1200)}
    response = twilio_post(client, "/twilio/sms/", many, signature="x")
    assert response.status_code == 400
    paged.refresh_from_db()
    assert paged.status == "triggered"


def test_keypress_on_a_bundle_call_acts_on_every_incident(
    client, clock, cast, fake_twilio, settings
) -> None:
    settings.PAGING_THROTTLE_LIMITS = {"sms": 5, "voice": 1}
    dave = engineer_with("Dave", "+15551230004", [("voice", 0)])
    incidents = [fire([dave], key=f"v{i}", title=f"Thing {i}") for i in range(3)]
    tick_at(clock, T0)
    fake_twilio.take_one()
    bundle = Message.objects.get(kind="voice", incident__isnull=True)
    xml = reply_text(call_post(client, f"/twilio/voice/{bundle.pk}/"))
    assert "3 open incidents." in xml and all(f"Thing {i}" in xml for i in range(3))
    reply_text(call_post(client, f"/twilio/voice/{bundle.pk}/gather/", Digits="1"))
    statuses = Incident.objects.filter(pk__in=[i.pk for i in incidents]).values_list(
        "status", flat=True
    )
    assert set(statuses) == {"acknowledged"}


def test_repeated_sms_delivery_acts_once(client, paged) -> None:
    sid = "SM" + "1" * 32
    assert f"Escalated #{paged.pk}" in reply_text(sms_from(client, "1e", sid=sid))
    assert "<Message>" not in reply_text(sms_from(client, "1e", sid=sid))
    assert IncidentEvent.objects.filter(incident=paged, kind="escalated").count() == 1


def test_replayed_keypress_acts_once(client, called, paged) -> None:
    path = f"/twilio/voice/{called.pk}/gather/"
    first = reply_text(call_post(client, path, Digits="2"))
    again = reply_text(call_post(client, path, Digits="2"))
    assert f"Escalated #{paged.pk}" in first and f"Escalated #{paged.pk}" in again
    assert IncidentEvent.objects.filter(incident=paged, kind="escalated").count() == 1
    # Another digit in the same call changes nothing either.
    reply_text(call_post(client, path, Digits="3"))
    paged.refresh_from_db()
    assert paged.status == "triggered"


def test_keypress_for_another_call_changes_nothing(client, called, paged) -> None:
    path = f"/twilio/voice/{called.pk}/gather/"
    params = {"CallSid": "CA" + "f" * 32, "Digits": "1"}
    assert "expired" in reply_text(twilio_post(client, path, params))
    assert twilio_post(client, path, {"Digits": "1"}).status_code == 400  # no CallSid
    paged.refresh_from_db()
    assert paged.status == "triggered"


@pytest.mark.parametrize("call_status", ["no-answer", "busy", "failed"])
def test_call_not_reached_brings_the_next_rule_forward(
    client, clock, paged, fake_twilio, call_status
) -> None:
    tick_at(clock, T0 + timedelta(minutes=5))
    fake_twilio.take_one()
    voice = Message.objects.get(incident=paged, kind="voice")
    clock.move_to(T0 + timedelta(minutes=6))
    status_post(client, voice, CallSid=voice.provider_id, CallStatus=call_status)
    # Alice's e-mail (due at +10 min) is due now, and goes out on the next tick.
    email = Message.objects.get(incident=paged, kind="email")
    assert email.due_at == T0 + timedelta(minutes=6)
    tick_at(clock, T0 + timedelta(minutes=6, seconds=1))
    email.refresh_from_db()
    assert email.status == Message.Status.SENT
    line = IncidentEvent.objects.get(kind=IncidentEvent.Kind.NOTIFICATION_QUEUED, message=email)
    assert line.text == (
        f"falling back to email (alice@example.test) after voice not reached: {call_status}"
    )


def test_sms_undelivered_brings_the_call_forward(client, clock, paged, fake_twilio) -> None:
    sms = Message.objects.get(incident=paged, kind="sms")
    clock.move_to(T0 + timedelta(seconds=30))
    status_post(client, sms, MessageSid=sms.provider_id, MessageStatus="undelivered")
    tick_at(clock, T0 + timedelta(seconds=31))
    call = fake_twilio.take_one()
    assert call.path.endswith("/Calls.json") and call.form["To"] == "+15551230001"
    voice = Message.objects.get(incident=paged, kind="voice")
    assert voice.status == Message.Status.SENT


def test_canceled_call_does_not_bring_the_next_rule_forward(
    client, clock, paged, fake_twilio
) -> None:
    tick_at(clock, T0 + timedelta(minutes=5))
    fake_twilio.take_one()
    voice = Message.objects.get(incident=paged, kind="voice")
    status_post(client, voice, CallSid=voice.provider_id, CallStatus="canceled")
    email = Message.objects.get(incident=paged, kind="email")
    assert email.due_at == T0 + timedelta(minutes=10)


def test_no_fallback_once_the_incident_is_acknowledged(client, clock, paged, cast) -> None:
    incident_acknowledge(incident_id=paged.pk, engineer_id=cast.alice.pk)
    sms = Message.objects.get(incident=paged, kind="sms")
    status_post(client, sms, MessageSid=sms.provider_id, MessageStatus="failed")
    sms.refresh_from_db()
    assert sms.status == Message.Status.FAILED
    events = IncidentEvent.objects.filter(incident=paged)
    assert not events.filter(kind=IncidentEvent.Kind.NO_CONTACT).exists()
    assert not events.filter(text__startswith="falling back").exists()
    assert Message.objects.filter(incident=paged, status=Message.Status.PENDING).count() == 0
