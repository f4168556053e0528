"""A Slack contact method added by e-mail address: the member is looked up once
(``users.lookupByEmail``, the real slack_sdk client against the fake Slack), its id is
what gets paged and the address is kept beside it."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from oncall.people.models import ContactMethod
from oncall.people.services.directory import contact_method_update
from paging.engine import tick
from paging.models import Message
from tests.channels.slack_pagerduty.conftest import fire
from tests.factories import EngineerFactory, NotificationRuleFactory
from tests.paging.factories import ServiceFactory, policy_with_steps

pytestmark = pytest.mark.django_db

CM_URL = "/api/v1/contact-methods/"
LIN = "U0LIN4567"


@pytest.fixture
def lin():
    return EngineerFactory(display_name="Lin Chen")


@pytest.fixture
def as_lin(lin) -> APIClient:
    client = APIClient()
    client.force_authenticate(lin.user)
    return client


def test_added_by_email_pages_the_member_id_found(clock, fake_slack, lin, as_lin) -> None:
    fake_slack.users_by_email["lin.chen@example.test"] = LIN
    response = as_lin.post(
        CM_URL, {"kind": "slack", "value": " lin.chen@Example.TEST "}, format="json"
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["value"], data["slack_email"], data["is_pageable"]) == (
        LIN,
        "lin.chen@example.test",
        True,
    )
    [lookup] = fake_slack.take("users.lookupByEmail")
    assert lookup.params["email"] == "lin.chen@example.test"
    assert lookup.token == "xoxb-test-token"
    cm = ContactMethod.objects.get(pk=data["id"])
    assert (cm.value, cm.slack_email) == (LIN, "lin.chen@example.test")

    # Paging it needs no lookup: the DM goes to the member id.
    NotificationRuleFactory(engineer=lin, contact_method=cm, delay_minutes=0)
    fire(ServiceFactory(escalation_policy=policy_with_steps([lin])))
    tick()
    assert [c.params["users"] for c in fake_slack.take("conversations.open")] == [LIN]
    assert len(fake_slack.take("chat.postMessage")) == 1
    assert Message.objects.get(kind="slack").destination == LIN

    # The same address again is the same member: refused as a duplicate, no new row.
    again = as_lin.post(CM_URL, {"kind": "slack", "value": "lin.chen@example.test"}, format="json")
    assert again.status_code == 400 and "value" in again.json()
    fake_slack.take("users.lookupByEmail")
    assert ContactMethod.objects.filter(kind="slack").count() == 1


def test_unknown_address_is_400_naming_the_value(fake_slack, as_lin) -> None:
    response = as_lin.post(CM_URL, {"kind": "slack", "value": "nobody@example.test"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "value": ["no Slack member has the e-mail address nobody@example.test"]
    }
    assert len(fake_slack.take("users.lookupByEmail")) == 1
    assert not ContactMethod.objects.exists()


def test_slack_down_is_400_saying_so_and_nothing_is_saved(fake_slack, as_lin) -> None:
    fake_slack.reply("users.lookupByEmail", status=503, body="<html>down</html>")
    response = as_lin.post(CM_URL, {"kind": "slack", "value": "lin@example.test"}, format="json")
    assert response.status_code == 400
    [reason] = response.json()["value"]
    assert reason.startswith("could not look lin@example.test up in Slack (slack users.lookup")
    assert "give the member id" in reason
    fake_slack.take()
    assert not ContactMethod.objects.exists()


def test_changing_the_value(fake_slack, lin) -> None:
    fake_slack.users_by_email["lin@example.test"] = LIN
    fake_slack.users_by_email["lin@new.example.test"] = "U0LIN9999"
    from oncall.people.services.directory import contact_method_create

    cm = contact_method_create(engineer=lin, kind="slack", value="lin@example.test")
    assert len(fake_slack.take("users.lookupByEmail")) == 1
    # Given the address it was found by: unchanged, not looked up again.
    cm = contact_method_update(contact_method=cm, value="lin@example.test", label="work")
    assert (cm.value, cm.slack_email, cm.label) == (LIN, "lin@example.test", "work")
    assert fake_slack.take() == []
    # Another address: looked up, both replaced.
    cm = contact_method_update(contact_method=cm, value="lin@new.example.test")
    assert (cm.value, cm.slack_email) == ("U0LIN9999", "lin@new.example.test")
    assert len(fake_slack.take("users.lookupByEmail")) == 1
    # A member id: the address no longer applies.
    cm = contact_method_update(contact_method=cm, value="U0LIN1111")
    cm.refresh_from_db()
    assert (cm.value, cm.slack_email) == ("U0LIN1111", "")
    assert fake_slack.take() == []


def test_without_slack_configured_the_address_is_kept(settings, as_lin) -> None:
    """The console stands in; once Slack is configured the transport looks the member
    up when it sends (tests/channels/slack_pagerduty/test_slack_transport.py)."""
    settings.SLACK_ENABLED = False
    response = as_lin.post(CM_URL, {"kind": "slack", "value": "lin@example.test"}, format="json")
    assert response.status_code == 201
    assert (response.json()["value"], response.json()["slack_email"]) == ("lin@example.test", "")


def test_not_an_address_nor_a_member_id(as_lin) -> None:
    response = as_lin.post(CM_URL, {"kind": "slack", "value": "lin@"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "value": ["'lin@' is not a Slack member id (such as U012AB3CD) or an e-mail address"]
    }


def test_config_file_may_name_the_member_by_address(fake_slack, tmp_path) -> None:
    """oncall_apply stores the address as given (no network call inside the apply's
    transaction); the transport finds the member when it sends."""
    import yaml

    from tests.config.conftest import EXAMPLE, run_apply

    doc = yaml.safe_load(EXAMPLE.read_text())
    doc["engineers"][0]["contact_methods"][0]["value"] = "lena.fischer@example.com"
    path = tmp_path / "oncall.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    run_apply(path)
    cm = ContactMethod.objects.get(kind="slack", engineer__user__username="lena")
    assert (cm.value, cm.slack_email) == ("lena.fischer@example.com", "")
    assert run_apply(path) == "No changes.\n"
    assert fake_slack.take() == []
