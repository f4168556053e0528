"""Verification codes: delivery through the method, expiry, attempt and resend limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from oncall.people import selectors, services
from oncall.people.models import ContactMethod, VerificationCode
from oncall.people.services.verification import (
    CODE_TTL,
    MAX_WRONG_ATTEMPTS,
    RESEND_INTERVAL,
    SENDS_PER_HOUR,
)
from paging.models import Message
from tests.factories import ContactMethodFactory, NotificationRuleFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _code_from(message: Message) -> str:
    match = re.search(r"\b(\d{6})\b", message.body)
    assert match, message.body
    return match.group(1)


def _send(cm: ContactMethod) -> str:
    sent = services.contact_method_send_verification(contact_method=cm)
    return _code_from(sent.message)


@pytest.fixture
def phone(alice) -> ContactMethod:
    return services.contact_method_create(engineer=alice, kind="sms", value="+49 151 2345 6789")


def test_code_is_queued_through_the_method_itself_and_only_a_hash_is_stored(phone) -> None:
    with time_machine.travel(START, tick=False):
        sent = services.contact_method_send_verification(contact_method=phone)
    message = Message.objects.get()
    assert message.purpose == Message.Purpose.VERIFICATION
    assert message.kind == "sms"
    assert message.destination == "+4915123456789"
    assert message.engineer_id == phone.engineer_id
    assert message.contact_method_id == phone.pk
    assert message.idempotency_key == f"verify:{sent.code.pk}"
    assert message.status == Message.Status.PENDING
    code = _code_from(message)
    row = VerificationCode.objects.get()
    assert code not in row.code_hash
    assert row.expires_at == START + timedelta(minutes=15)


def test_email_and_voice_codes_go_to_their_own_address(alice) -> None:
    email = services.contact_method_create(engineer=alice, kind="email", value="a@Example.TEST")
    voice = services.contact_method_create(engineer=alice, kind="voice", value="+14155550100")
    _send(email)
    _send(voice)
    by_kind = {m.kind: m for m in Message.objects.all()}
    assert by_kind["email"].destination == "a@example.test"
    assert by_kind["email"].subject
    assert by_kind["voice"].destination == "+14155550100"
    code = _code_from(by_kind["voice"])
    assert ", ".join(code) in by_kind["voice"].body  # read digit by digit


def test_right_code_verifies_and_makes_the_phone_pageable(phone) -> None:
    assert not phone.is_pageable
    assert phone not in selectors.pageable_contact_methods(phone.engineer)
    code = _send(phone)
    with time_machine.travel(timezone.now() + timedelta(minutes=14, seconds=59)):
        services.contact_method_verify(contact_method=phone, code=code)
    phone.refresh_from_db()
    assert phone.verified_at is not None
    assert phone.is_pageable
    assert list(selectors.pageable_contact_methods(phone.engineer)) == [phone]
    assert VerificationCode.objects.get().used_at is not None


def test_code_expires_after_15_minutes(phone) -> None:
    with time_machine.travel(START, tick=False) as clock:
        code = _send(phone)
        clock.shift(CODE_TTL)
        with pytest.raises(ValidationError) as err:
            services.contact_method_verify(contact_method=phone, code=code)
    assert "expired" in err.value.message_dict["code"][0]
    phone.refresh_from_db()
    assert phone.verified_at is None


def test_five_wrong_attempts_kill_the_code(phone) -> None:
    code = _send(phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(MAX_WRONG_ATTEMPTS):
        with pytest.raises(ValidationError) as err:
            services.contact_method_verify(contact_method=phone, code=wrong)
        assert "wrong code" in err.value.message_dict["code"][0]
    # The attempts were counted and committed despite the errors.
    assert VerificationCode.objects.get().attempts == MAX_WRONG_ATTEMPTS
    with pytest.raises(ValidationError) as err:
        services.contact_method_verify(contact_method=phone, code=code)
    assert "too many wrong attempts" in err.value.message_dict["code"][0]
    phone.refresh_from_db()
    assert phone.verified_at is None


def test_malformed_code_is_refused_without_counting(phone) -> None:
    _send(phone)
    with pytest.raises(ValidationError) as err:
        services.contact_method_verify(contact_method=phone, code="12ab")
    assert "6 digits" in err.value.message_dict["code"][0]
    assert VerificationCode.objects.get().attempts == 0


def test_resend_is_rate_limited_per_minute_and_per_hour(phone) -> None:
    with time_machine.travel(START, tick=False) as clock:
        first = _send(phone)
        clock.shift(timedelta(seconds=30))
        with pytest.raises(services.VerificationRateLimited) as err:
            _send(phone)
        assert err.value.retry_after == 30
        for _ in range(SENDS_PER_HOUR - 1):
            clock.shift(RESEND_INTERVAL)
            last = _send(phone)
        # 5 codes sent between 09:00 and 09:04:30; the 6th must wait until 10:00.
        clock.shift(RESEND_INTERVAL)
        with pytest.raises(services.VerificationRateLimited) as err:
            _send(phone)
        assert err.value.retry_after == (START + timedelta(hours=1) - timezone.now()).seconds
        assert Message.objects.count() == SENDS_PER_HOUR
        # Only the newest code works.
        if first != last:
            with pytest.raises(ValidationError):
                services.contact_method_verify(contact_method=phone, code=first)
        services.contact_method_verify(contact_method=phone, code=last)
        clock.shift(timedelta(hours=1))
    phone.refresh_from_db()
    assert phone.verified_at is not None


def test_changing_the_number_clears_verification_and_kills_codes(phone) -> None:
    code = _send(phone)
    services.contact_method_verify(contact_method=phone, code=code)
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        code = _send(services.contact_method_update(contact_method=phone, value="+4915100000000"))
    phone.refresh_from_db()
    assert phone.verified_at is None
    # A new code for the new number works; then a value change kills the pending one.
    with time_machine.travel(timezone.now() + timedelta(minutes=4)):
        pending = _send(phone)
        services.contact_method_update(contact_method=phone, value="+4915111111111")
        with pytest.raises(ValidationError):
            services.contact_method_verify(contact_method=phone, code=pending)
    assert code  # the first code was sent to the old number


def test_label_change_keeps_verification(phone) -> None:
    services.contact_method_verify(contact_method=phone, code=_send(phone))
    services.contact_method_update(contact_method=phone, label="work", value="+4915123456789")
    phone.refresh_from_db()
    assert phone.verified_at is not None


def test_disabled_or_verified_methods_get_no_code(phone) -> None:
    services.contact_method_disable(contact_method=phone, reason="lost phone")
    with pytest.raises(ValidationError) as err:
        _send(phone)
    assert "disabled" in err.value.message_dict["contact_method"][0]
    services.contact_method_enable(contact_method=phone)
    services.contact_method_verify(contact_method=phone, code=_send(phone))
    later = timezone.now() + timedelta(minutes=5)
    with pytest.raises(ValidationError) as err, time_machine.travel(later):
        _send(phone)
    assert "already verified" in err.value.message_dict["contact_method"][0]


def test_unverified_phones_are_never_pageable(alice) -> None:
    sms = ContactMethodFactory(engineer=alice, kind="sms", verified_at=None)
    voice = ContactMethodFactory(engineer=alice, kind="voice", verified_at=None)
    email = ContactMethodFactory(engineer=alice, kind="email", verified_at=None)
    slack = ContactMethodFactory(engineer=alice, kind="slack", verified_at=None)
    verified = ContactMethodFactory(engineer=alice, kind="voice")
    disabled = ContactMethodFactory(engineer=alice, kind="email", disabled_at=timezone.now())
    pageable = set(selectors.pageable_contact_methods(alice))
    assert pageable == {email, slack, verified}
    for cm in (sms, voice, email, slack, verified, disabled):
        assert cm.is_pageable == (cm in pageable)
    for i, cm in enumerate((sms, voice, email, verified)):
        NotificationRuleFactory(engineer=alice, contact_method=cm, delay_minutes=i)
    rules = selectors.pageable_notification_rules(alice)
    assert [r.contact_method for r in rules] == [email, verified]


def test_code_leaves_on_the_next_tick_and_the_engine_is_kicked(
    phone, django_capture_on_commit_callbacks, settings
) -> None:
    from paging import engine, kick

    settings.EMBEDDED_MODE = True  # the suite also runs with a broker configured
    kick.embedded_wakeup.clear()
    with django_capture_on_commit_callbacks(execute=True):
        code = _send(phone)
    assert kick.embedded_wakeup.is_set()  # woken after commit, not on the next beat
    kick.embedded_wakeup.clear()
    engine.tick()
    message = Message.objects.get(purpose=Message.Purpose.VERIFICATION)
    assert message.status == Message.Status.SENT
    assert message.transport == "console"
    assert code in message.body
