"""Acks through provider callbacks are in the audit trail: the engineer, via the provider."""

from __future__ import annotations

import pytest

from oncall.audit.models import AuditEntry
from tests.channels.twilio_email_links.test_twilio_inbound import reply_text, sms_from
from tests.support import T0, fire, tick_at

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.channels.twilio_email_links.urls")]


def test_sms_reply_ack_and_resolve_are_alices_via_twilio(client, clock, cast, fake_twilio):
    incident = fire([cast.alice])
    tick_at(clock, T0)
    fake_twilio.take_one()
    reply_text(sms_from(client, "1a"))
    reply_text(sms_from(client, "1r"))
    entries = AuditEntry.objects.filter(object_type="paging.incident", object_id=str(incident.pk))
    assert [(e.action, e.actor_kind, e.actor_user_id, e.actor_label, e.note) for e in entries] == [
        (
            "resolve",
            "provider",
            cast.alice.user_id,
            f"{cast.alice.username} via provider callback twilio",
            "sms",
        ),
        (
            "acknowledge",
            "provider",
            cast.alice.user_id,
            f"{cast.alice.username} via provider callback twilio",
            "sms",
        ),
    ]
