"""Adding a channel is one ChannelSpec registration: a fake "push" channel, declared only
here, works everywhere a kind is used, with no other code change.

Its contact methods are created, validated, normalised and verified through the API,
used in notification rules, throttled by the channel's own default, and paged: the page
reaches the outbox and its transport sends it. Its target kind ("push topic") is taken
by the policy API, the config export and the admin's step form, and an escalation step
posts to it. Neither needs a migration.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from rest_framework.test import APIClient

from oncall.channel_registry import ChannelSpec, TargetKind, channel_register, channel_unregister
from oncall.people.models import ContactMethod, Engineer
from paging.channels.escalation_targets import target_incident, target_message_enqueue
from paging.config_section import policies_export
from paging.engine import tick
from paging.models import IncidentEvent, Message
from tests.factories import EngineerFactory, UserFactory
from tests.paging.factories import ServiceFactory, policy_with_steps
from tests.support import fire

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
DEVICE = "ab" * 32  # a device token: 64 hex digits
CM_URL = "/api/v1/contact-methods/"


# --- the channel: what a paging/channels/push/ folder would hold -------------------------


@dataclass
class Pushed:
    destination: str
    subject: str
    body: str
    incident_id: int | None


@dataclass
class PushBox:
    """The in-memory push service: what the transport delivered."""

    name: str = "push"
    sent: list[Pushed] = field(default_factory=list)

    def send(self, message: Message) -> str:
        self.sent.append(
            Pushed(message.destination, message.subject, message.body, message.incident_id)
        )
        return f"push-{len(self.sent)}"


def validate_device_token(value: str) -> None:
    if not re.fullmatch(r"[0-9a-f]{64}", value or ""):
        raise ValidationError(f"{value!r} is not a device token (64 hex digits)")


def push_topic_post(*, incident_id: int, address: str, step: int, loop: int) -> Message:
    incident = target_incident(incident_id)
    return target_message_enqueue(
        incident=incident,
        idempotency_key=f"push-topic:{incident_id}:{step}:{loop}:{address}",
        kind="push",
        destination=f"topic:{address}",
        body=incident.title,
        step=step,
        loop=loop,
        queued_text=f"push to topic {address}",
    )


def push_spec(box: PushBox) -> ChannelSpec:
    return ChannelSpec(
        name="push",
        label="Push notification",
        transport=lambda: box,
        validate=validate_device_token,
        normalize=str.lower,
        value_help="a device token (64 hex digits)",
        verify_before_paging=True,
        throttle_limit=2,
        target=TargetKind(
            name="push_topic",
            label="Push topic",
            reference="address",
            post=push_topic_post,
            address_help="topic",
        ),
    )


@pytest.fixture
def push() -> Iterator[PushBox]:
    """The one registration line (an ``AppConfig.ready()`` would make it)."""
    box = PushBox()
    channel_register(push_spec(box))
    yield box
    channel_unregister("push")


# --- helpers ------------------------------------------------------------------------------


@pytest.fixture
def clock_start() -> datetime:
    return T0


def api_for(user: object) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def ada() -> Engineer:
    return EngineerFactory(display_name="Ada")


def push_method(api: APIClient, box: PushBox) -> dict:
    """Add Ada's push contact method through the API and verify it with the code the
    push service delivered."""
    created = api.post(CM_URL, {"kind": "push", "value": f"  {DEVICE.upper()} "}, format="json")
    assert created.status_code == 201, created.content
    url = f"{CM_URL}{created.json()['id']}/"
    assert api.post(f"{url}send-verification/").status_code == 202
    tick()  # the dispatcher sends the code through the push transport
    code = re.search(r"\b(\d{6})\b", box.sent[-1].body).group(1)
    verified = api.post(f"{url}verify/", {"code": code}, format="json")
    assert verified.status_code == 200, verified.content
    return verified.json()


# --- contact methods ------------------------------------------------------------------------


def test_without_its_registration_push_is_no_kind(ada) -> None:
    refused = api_for(ada.user).post(CM_URL, {"kind": "push", "value": DEVICE}, format="json")
    assert refused.status_code == 400
    assert "push" in " ".join(refused.json()["kind"])


def test_a_push_contact_method_is_validated_verified_ruled_and_paged(clock, push, ada) -> None:
    api = api_for(ada.user)
    bad = api.post(CM_URL, {"kind": "push", "value": "not-a-token"}, format="json")
    assert bad.status_code == 400
    assert "not a device token" in " ".join(bad.json()["value"])

    created = api.post(CM_URL, {"kind": "push", "value": f"  {DEVICE.upper()} "}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    # Normalised by the channel's rule, and not paged before it is verified.
    assert (body["value"], body["is_pageable"]) == (DEVICE, False)
    assert str(ContactMethod.objects.get(pk=body["id"])) == f"Push notification {DEVICE}"

    url = f"{CM_URL}{body['id']}/"
    assert api.post(f"{url}send-verification/").status_code == 202
    tick()
    [code_message] = push.sent
    assert code_message.destination == DEVICE
    code = re.search(r"\b(\d{6})\b", code_message.body).group(1)
    verified = api.post(f"{url}verify/", {"code": code}, format="json")
    assert verified.status_code == 200 and verified.json()["is_pageable"] is True

    rule = api.post(
        "/api/v1/notification-rules/",
        {"contact_method": body["id"], "delay_minutes": 0, "urgency": "high"},
        format="json",
    )
    assert rule.status_code == 201, rule.content

    incident = fire(
        ServiceFactory(escalation_policy=policy_with_steps([ada])),
        key="payments",
        title="payments down",
    )
    tick()
    page = Message.objects.get(kind="push", purpose="page")
    assert (page.incident_id, page.destination, page.status) == (incident.pk, DEVICE, "sent")
    assert (page.transport, page.provider_id) == ("push", "push-2")
    assert push.sent[-1].subject == f"[HIGH] #{incident.pk} payments down"
    sent = IncidentEvent.objects.get(incident=incident, kind="notification_sent")
    assert (sent.via, sent.text) == ("push", f"push to {DEVICE}")

    staff = api_for(UserFactory(is_staff=True))
    listed = staff.get("/api/v1/messages/", {"kind": "push"})
    assert listed.status_code == 200
    assert [m["purpose"] for m in listed.json()["results"]] == ["page", "verification"]


def test_the_channels_throttle_default_bundles_the_excess(clock, push, ada) -> None:
    method = push_method(api_for(ada.user), push)
    cm = ContactMethod.objects.get(pk=method["id"])
    cm.notification_rules.create(engineer=ada, delay_minutes=0, urgency="high")
    service = ServiceFactory(escalation_policy=policy_with_steps([ada]))
    for key in ("db", "api", "queue"):
        fire(service, key=key, title=f"{key} down")
    tick()
    # Two pages per 15 minutes (``throttle_limit=2``): the first alone, the rest bundled.
    pages = [p for p in push.sent if p.destination == DEVICE][1:]
    assert [p.incident_id for p in pages][0] is not None
    assert len(pages) == 2 and pages[1].incident_id is None
    assert pages[1].subject.startswith("2 open incidents")
    assert Message.objects.filter(kind="push", status="bundled").count() == 2


# --- the escalation-target kind -------------------------------------------------------------


def test_a_push_topic_is_a_step_target_in_the_api_config_and_admin(clock, push) -> None:
    staff_user = UserFactory(is_staff=True, is_superuser=True)
    staff = api_for(staff_user)
    url = "/api/v1/escalation-policies/"
    missing = staff.post(
        url,
        {"name": "Ops", "steps": [{"delay_minutes": 5, "targets": [{"kind": "push_topic"}]}]},
        format="json",
    )
    assert missing.status_code == 400
    assert "required for a push_topic target" in str(missing.json())

    created = staff.post(
        url,
        {
            "name": "Ops",
            "steps": [{"delay_minutes": 5, "targets": [{"kind": "push_topic", "address": "ops"}]}],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["steps"][0]["targets"][0]["address"] == "ops"
    [exported] = policies_export()
    assert exported["steps"][0]["targets"] == [{"push_topic": "ops"}]

    service = ServiceFactory(escalation_policy_id=created.json()["id"])
    incident = fire(service, key="payments", title="payments down")
    tick()
    [post] = push.sent
    assert (post.destination, post.incident_id) == ("topic:ops", incident.pk)
    step = IncidentEvent.objects.get(incident=incident, kind="escalation_step")
    assert step.text == "step 1: paging Push topic ops"
    assert Message.objects.get(kind="push").status == "sent"

    client = APIClient()
    client.force_login(staff_user)
    page = client.get(f"/admin/paging/escalationpolicy/{created.json()['id']}/change/")
    assert page.status_code == 200
    assert b'name="steps-0-push_topics"' in page.content
    assert b"Push topics" in page.content


def test_a_new_kind_needs_no_migration(push) -> None:
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_its_page_is_sent_once(clock, push, ada) -> None:
    """The outbox sends each row once: a second tick leaves the push service alone."""
    method = push_method(api_for(ada.user), push)
    ContactMethod.objects.get(pk=method["id"]).notification_rules.create(
        engineer=ada, delay_minutes=0, urgency="high"
    )
    fire(
        ServiceFactory(escalation_policy=policy_with_steps([ada])),
        key="payments",
        title="payments down",
    )
    tick()
    count = len(push.sent)
    clock.shift(timedelta(seconds=30))
    tick()
    assert len(push.sent) == count
