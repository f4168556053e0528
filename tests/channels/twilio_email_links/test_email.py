"""E-mail through Django's real SMTP backend to a local SMTP server."""

from __future__ import annotations

import re
import socket
from datetime import timedelta

import pytest
from django.db import transaction

from paging.channels import TransportError
from paging.channels.email.transport import EmailTransport
from paging.channels.links.tokens import link_read
from paging.models import Message
from paging.outbox import message_enqueue
from tests.channels.twilio_email_links.conftest import PUBLIC
from tests.fakes.net import refusing_url, unanswered_connect_url
from tests.support import T0, engineer_with, fire, tick_at

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.channels.twilio_email_links.urls")]


@pytest.fixture
def carol(db):
    """E-mail at once, SMS 5 minutes later."""
    return engineer_with("Carol", "+15551230003", [("email", 0), ("sms", 5)])


def links_in(text: str) -> list[str]:
    return re.findall(rf"{re.escape(PUBLIC)}/l/([^/\s\"]+)/", text)


def test_page_email_has_text_and_html_with_signed_links(clock, carol, fake_smtp) -> None:
    incident = fire([carol])
    tick_at(clock, T0)
    (mail,) = fake_smtp.take()
    assert mail.rcpt_to == ["carol@example.test"]
    assert mail.mail_from == "oncall@example.test"
    assert mail.message["Subject"] == f"[HIGH] #{incident.pk} DB down"
    assert mail.message["Auto-Submitted"] == "auto-generated"
    text, html = mail.part("text/plain"), mail.part("text/html")
    assert f"Incident #{incident.pk}: DB down" in text and "Service:  payments" in text
    assert "Severity: critical" in text
    assert f"Incident #{incident.pk}: DB down" in html and "<b>payments</b>" in html
    for part in (text, html):
        targets = [link_read(token) for token in links_in(part)]
        assert [(t.incident_id, t.engineer_id, t.action) for t in targets] == [
            (incident.pk, carol.pk, "acknowledge"),
            (incident.pk, carol.pk, "resolve"),
        ]
    message = Message.objects.get(incident=incident, kind="email")
    assert message.status == Message.Status.SENT and message.transport == "email"
    assert f"<{message.provider_id}>" == mail.message["Message-ID"]


def test_html_part_escapes_the_title(clock, carol, fake_smtp) -> None:
    fire([carol], title="<script>alert(1)</script> & co")
    tick_at(clock, T0)
    (mail,) = fake_smtp.take()
    html = mail.part("text/html")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<script>alert(1)</script> & co" in mail.part("text/plain")


def test_refused_recipient_is_permanent_and_falls_back(clock, carol, fake_smtp, fake_twilio):
    fake_smtp.refuse["carol@example.test"] = (550, "5.1.1 no such user")
    incident = fire([carol])
    tick_at(clock, T0)
    assert fake_smtp.take() == []
    email = Message.objects.get(incident=incident, kind="email")
    assert email.status == Message.Status.FAILED and email.attempts == 1
    assert "550" in email.last_error
    method = carol.contact_methods.get(kind="email")
    assert method.disabled_at is not None and "no such user" in method.disabled_reason
    # The SMS rung (due at +5 min) is brought forward.
    tick_at(clock, T0 + timedelta(seconds=2))
    assert fake_twilio.take_one().form["To"] == "+15551230003"


def test_temporary_refusal_is_retried(clock, carol, fake_smtp) -> None:
    fake_smtp.refuse["carol@example.test"] = (450, "4.2.1 mailbox busy")
    incident = fire([carol])
    tick_at(clock, T0)
    email = Message.objects.get(incident=incident, kind="email")
    assert email.status == Message.Status.PENDING and "450" in email.last_error
    assert carol.contact_methods.get(kind="email").disabled_at is None
    del fake_smtp.refuse["carol@example.test"]
    tick_at(clock, T0 + timedelta(seconds=11))
    assert [m.rcpt_to for m in fake_smtp.take()] == [["carol@example.test"]]


def test_server_down_is_transient(clock, carol, settings) -> None:
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_ENABLED = "127.0.0.1", port, True
    settings.EMAIL_TIMEOUT = 2
    incident = fire([carol])
    tick_at(clock, T0)
    email = Message.objects.get(incident=incident, kind="email")
    assert email.status == Message.Status.PENDING and email.attempts == 1
    assert "unreachable" in email.last_error


def test_non_page_email_is_sent_as_is(clock, carol, fake_smtp) -> None:
    from oncall.people.services.verification import contact_method_send_verification

    method = carol.contact_methods.get(kind="email")
    method.verified_at = None
    method.save()
    contact_method_send_verification(contact_method=method)
    tick_at(clock, T0)
    (mail,) = fake_smtp.take()
    message = Message.objects.get(purpose="verification")
    assert mail.message["Subject"] == "On-call verification code"
    assert mail.part("text/plain").strip() == message.body
    assert message.body in mail.part("text/html")


def test_header_injection_in_address_is_permanent(fake_smtp) -> None:
    from paging.channels import TransportError
    from paging.channels.email.transport import EmailTransport
    from paging.models import Message

    message = Message.objects.create(
        idempotency_key="x",
        purpose="notice",
        kind="email",
        destination="eve@example.test\nBcc: all@example.test",
        subject="hi",
        body="hello",
        due_at=T0,
    )
    with pytest.raises(TransportError) as failure:
        EmailTransport().send(message)
    assert failure.value.permanent
    assert fake_smtp.take() == []


def test_transport_reports_a_refused_recipient_and_leaves_state_to_the_outbox(
    clock, carol, fake_smtp
) -> None:
    fake_smtp.refuse["carol@example.test"] = (550, "5.1.1 no such user")
    method = carol.contact_methods.get(kind="email")
    with transaction.atomic():
        message = message_enqueue(
            idempotency_key="notice:1",
            purpose=Message.Purpose.NOTICE,
            kind="email",
            destination="carol@example.test",
            body="hello",
            engineer_id=carol.pk,
            contact_method_id=method.pk,
        )
    with pytest.raises(TransportError) as caught:
        EmailTransport().send(message)
    assert caught.value.permanent and "no such user" in caught.value.disable_reason
    method.refresh_from_db()
    assert (method.disabled_at, method.last_error) == (None, "")


def _notice(carol) -> Message:
    with transaction.atomic():
        return message_enqueue(
            idempotency_key="notice:lost",
            purpose=Message.Purpose.NOTICE,
            kind="email",
            destination="carol@example.test",
            subject="Shift",
            body="Your shift starts in 1 hour.",
            engineer_id=carol.pk,
        )


def test_answer_lost_after_the_data_is_maybe_sent(clock, carol, fake_smtp, settings) -> None:
    settings.EMAIL_TIMEOUT = 0.3
    fake_smtp.stall_next(1.0)  # the server queues the mail, answers too late
    with pytest.raises(TransportError) as caught:
        EmailTransport().send(_notice(carol))
    assert (caught.value.maybe_sent, caught.value.permanent) == (True, False)
    [mail] = fake_smtp.take()  # the server has it
    assert mail.message["Subject"] == "Shift"


def test_timeout_before_the_data_is_not_maybe_sent(clock, carol, fake_smtp, settings) -> None:
    settings.EMAIL_TIMEOUT = 0.3
    fake_smtp.stall_next(1.0, after_data=False)  # no answer to DATA: nothing sent
    with pytest.raises(TransportError) as caught:
        EmailTransport().send(_notice(carol))
    assert (caught.value.maybe_sent, caught.value.permanent) == (False, False)
    assert fake_smtp.take() == []


def test_connect_failures_are_not_maybe_sent(clock, carol, settings) -> None:
    settings.EMAIL_ENABLED, settings.EMAIL_TIMEOUT = True, 0.3
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    for unreachable in (refusing_url, unanswered_connect_url):
        with unreachable() as url:
            settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", int(url.rsplit(":", 1)[1])
            with pytest.raises(TransportError) as caught:
                EmailTransport().send(_notice(carol))
        assert (caught.value.maybe_sent, caught.value.permanent) == (False, False)


def test_the_backend_path_from_before_the_move_still_sends(clock, carol, fake_smtp, settings):
    """DELIVERY_EMAIL_BACKEND set to the default's old dotted path (before delivery/ moved
    into paging/channels/) is the same backend, not an import error."""
    settings.DELIVERY_EMAIL_BACKEND = "delivery.email.backend.EmailBackend"  # layout_rewrite: keep
    fire([carol])
    tick_at(clock, T0)
    (mail,) = fake_smtp.take()
    assert mail.rcpt_to == ["carol@example.test"]
    assert Message.objects.get(kind="email").status == Message.Status.SENT
