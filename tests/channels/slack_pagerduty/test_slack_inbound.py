"""Slack buttons and /oncall: signatures, replays, linking, the full page -> ack loop."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from slack_sdk.signature import SignatureVerifier

from paging.channels.slack.models import SlackPost
from paging.engine import tick
from paging.models import Incident, Message, PriorityLevel, ServicePriorityPolicy
from schedules import services as schedule_services
from tests.channels.slack_pagerduty.conftest import ADA_SLACK, SIGNING_SECRET, fire
from tests.factories import ContactMethodFactory, MembershipFactory, TeamFactory
from tests.paging.factories import policy_with_steps

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).parent / "samples"  # copies of /work/shared/contracts
GRACE_SLACK = "U0GRACE01"


def interaction_body(
    incident_id: int, *, action: str = "incident_acknowledge", user: str = ADA_SLACK
) -> str:
    with open(f"{SAMPLES}/slack_block_actions.json") as f:
        payload = json.load(f)
    payload["user"]["id"] = user
    payload["actions"][0]["action_id"] = action
    payload["actions"][0]["value"] = str(incident_id)
    payload["actions"][0]["block_id"] = f"incident_{incident_id}"
    return urlencode({"payload": json.dumps(payload)})


def command_body(text: str, user: str = ADA_SLACK) -> str:
    fields = {}
    with open(f"{SAMPLES}/slack_slash_command.txt") as f:
        for line in f:
            if "=" in line and not line.startswith("#"):
                name, value = line.rstrip("\n").split("=", 1)
                fields[name] = value
    fields.update(text=text, user_id=user)
    return urlencode(fields)


def signed(
    client: Client,
    path: str,
    body: str,
    *,
    secret: str = SIGNING_SECRET,
    age: int = 0,
    signature: str | None = None,
    timestamp: str | None = None,
):
    ts = timestamp if timestamp is not None else str(int(time.time()) - age)
    sig = signature or SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return client.post(
        path,
        data=body,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_SLACK_REQUEST_TIMESTAMP=ts,
        HTTP_X_SLACK_SIGNATURE=sig,
    )


def ephemeral_texts(fake_slack) -> list[str]:
    return [c.params["text"] for c in fake_slack.take("chat.postEphemeral")]


@pytest.fixture
def paged(clock, cast, fake_slack):
    """An incident whose DM went out to Ada (the fake's calls are taken)."""
    incident = fire(cast.service)
    tick()
    fake_slack.take("conversations.open")
    assert len(fake_slack.take("chat.postMessage")) == 1
    return incident


def test_ack_button_stops_paging_and_the_message_shows_who(clock, cast, fake_slack, paged) -> None:
    client = Client()
    response = signed(client, "/slack/interactions/", interaction_body(paged.pk))
    assert response.status_code == 200
    incident = Incident.objects.get(pk=paged.pk)
    assert (incident.status, incident.acknowledged_by, incident.acknowledged_via) == (
        "acknowledged",
        cast.ada,
        "slack",
    )
    tick()
    [update] = fake_slack.take("chat.update")
    post = SlackPost.objects.get()
    assert (update.params["channel"], update.params["ts"]) == (post.channel, post.ts)
    assert "Acknowledged* by Ada Lovelace via slack" in json.dumps(update.params["blocks"])
    assert ephemeral_texts(fake_slack) == [f"You acknowledged #{paged.pk}: paging has stopped."]
    [reply] = Message.objects.filter(kind="slack_ephemeral")
    assert reply.destination == f"C0ONCALL {ADA_SLACK}"
    # Step 2 (Grace, 10 minutes later) never runs.
    clock.shift(timedelta(minutes=11))
    tick()
    assert not Message.objects.filter(engineer=cast.grace).exists()


def test_second_ack_reports_who_acknowledged_first(clock, cast, fake_slack, paged) -> None:
    ContactMethodFactory(engineer=cast.grace, kind="slack", value=GRACE_SLACK)
    client = Client()
    assert signed(client, "/slack/interactions/", interaction_body(paged.pk)).status_code == 200
    clock.shift(timedelta(minutes=1))
    body = interaction_body(paged.pk, user=GRACE_SLACK)
    assert signed(client, "/slack/interactions/", body).status_code == 200
    tick()
    assert ephemeral_texts(fake_slack) == [
        f"You acknowledged #{paged.pk}: paging has stopped.",
        f"#{paged.pk} was already acknowledged by Ada Lovelace via slack at 03:14 UTC.",
    ]
    assert Incident.objects.get(pk=paged.pk).acknowledged_by == cast.ada
    assert len(fake_slack.take("chat.update")) == 1


def test_unknown_slack_user_gets_a_link_your_account_answer(clock, cast, fake_slack, paged) -> None:
    body = interaction_body(paged.pk, user="U0STRANGER")
    assert signed(Client(), "/slack/interactions/", body).status_code == 200
    tick()
    [text] = ephemeral_texts(fake_slack)
    assert "not linked to an on-call engineer" in text and "U0STRANGER" in text
    assert Incident.objects.get(pk=paged.pk).status == "triggered"


def test_escalate_and_resolve_buttons(clock, cast, fake_slack, paged) -> None:
    client = Client()
    body = interaction_body(paged.pk, action="incident_escalate")
    assert signed(client, "/slack/interactions/", body).status_code == 200
    tick()
    assert Message.objects.get(engineer=cast.grace).status == "sent"  # step 2 now
    assert ephemeral_texts(fake_slack) == [
        f"You escalated #{paged.pk}: the next step is paged now."
    ]
    assert len(fake_slack.take("chat.update")) == 1
    body = interaction_body(paged.pk, action="incident_resolve")
    assert signed(client, "/slack/interactions/", body).status_code == 200
    tick()
    assert Incident.objects.get(pk=paged.pk).status == "resolved"
    [update] = fake_slack.take("chat.update")
    assert "Resolved* by Ada Lovelace via slack" in json.dumps(update.params["blocks"])
    assert ephemeral_texts(fake_slack) == [f"You resolved #{paged.pk}."]


@pytest.mark.parametrize(
    "kind", ["wrong_secret", "unsigned", "old", "future", "bad_timestamp", "tampered"]
)
@pytest.mark.parametrize("path", ["/slack/interactions/", "/slack/commands/"])
def test_forged_or_stale_requests_are_refused(clock, cast, fake_slack, paged, kind, path) -> None:
    body = interaction_body(paged.pk) if "interactions" in path else command_body(f"ack {paged.pk}")
    client = Client()
    if kind == "wrong_secret":
        response = signed(client, path, body, secret="not-the-secret")
    elif kind == "unsigned":
        response = client.post(path, data=body, content_type="application/x-www-form-urlencoded")
    elif kind == "old":
        response = signed(client, path, body, age=301)
    elif kind == "future":
        response = signed(client, path, body, age=-301)
    elif kind == "bad_timestamp":
        response = signed(client, path, body, timestamp="17636x", signature="v0=" + "0" * 64)
    else:
        good = SignatureVerifier(SIGNING_SECRET).generate_signature(
            timestamp=str(int(time.time())), body=body
        )
        response = signed(client, path, body.replace("ack", "resolve"), signature=good)
    assert response.status_code == 403
    assert Incident.objects.get(pk=paged.pk).status == "triggered"
    tick()
    assert fake_slack.calls == []


def test_signature_just_inside_the_window_is_accepted_once(clock, cast, fake_slack, paged) -> None:
    body = interaction_body(paged.pk, action="incident_escalate")
    ts = str(int(time.time()) - 299)
    client = Client()
    assert signed(client, "/slack/interactions/", body, timestamp=ts).status_code == 200
    # The very same request again (a replay inside the window): refused.
    assert signed(client, "/slack/interactions/", body, timestamp=ts).status_code == 403
    tick()
    assert len(ephemeral_texts(fake_slack)) == 1
    fake_slack.take("chat.update")
    assert Message.objects.filter(engineer=cast.grace).count() == 1


def test_slash_commands_ack_resolve_help(clock, cast, fake_slack, paged) -> None:
    client = Client()
    response = signed(client, "/slack/commands/", command_body(f"ack {paged.pk}"))
    assert response.status_code == 200
    assert response.json() == {
        "response_type": "ephemeral",
        "text": f"You acknowledged #{paged.pk}: paging has stopped.",
    }
    response = signed(client, "/slack/commands/", command_body(f"ack #{paged.pk}"))
    assert response.json()["text"] == (
        f"#{paged.pk} was already acknowledged by Ada Lovelace via slack at 03:14 UTC."
    )
    response = signed(client, "/slack/commands/", command_body(f"resolve {paged.pk}"))
    assert response.json()["text"] == f"You resolved #{paged.pk}."
    assert Incident.objects.get(pk=paged.pk).resolved_via == "slack"
    tick()
    assert len(fake_slack.take("chat.update")) == 2
    for text, expected in [
        ("help", "/oncall who [team]"),
        ("", "/oncall ack N"),
        ("ack", "Say which incident"),
        ("ack forty-two", "Say which incident"),
        ("ack 99999", "There is no incident #99999."),
        ("dance", "I do not know 'dance'"),
    ]:
        response = signed(client, "/slack/commands/", command_body(text))
        assert response.status_code == 200
        assert expected in response.json()["text"], text


def test_slash_command_from_unknown_user(clock, cast, fake_slack, paged) -> None:
    response = signed(Client(), "/slack/commands/", command_body(f"ack {paged.pk}", "U0NOBODY"))
    assert response.status_code == 200
    assert "not linked to an on-call engineer" in response.json()["text"]
    assert Incident.objects.get(pk=paged.pk).status == "triggered"


def test_who_lists_the_teams_schedules(clock, cast, slack_secret) -> None:
    team = TeamFactory(name="Platform", slug="platform")
    MembershipFactory(team=team, engineer=cast.ada)
    schedule = schedule_services.schedule_create(team=team, name="Primary")
    schedule_services.layer_create(
        schedule=schedule, name="Weekly", start_date=date(2026, 1, 5), members=[cast.ada]
    )
    schedule_services.schedule_create(team=team, name="Empty")
    client = Client()
    response = signed(client, "/slack/commands/", command_body("who platform"))
    assert response.json()["text"] == (
        "*Platform / Empty*: nobody on call\n*Platform / Primary*: Ada Lovelace"
    )
    # Without a team: the caller's own teams.
    response = signed(client, "/slack/commands/", command_body("who"))
    assert "*Platform / Primary*: Ada Lovelace" in response.json()["text"]
    response = signed(client, "/slack/commands/", command_body("who nosuchteam"))
    assert response.json()["text"].startswith("There is no team 'nosuchteam'. Teams:")


# `/oncall who`: statements per answer whatever the number of schedules, layers and
# members: the replay record (3), the caller, the team, its schedules, their
# definitions (6), the names. The same on both databases.
WHO_STATEMENTS = {"sqlite": 13, "postgresql": 13}


@pytest.mark.parametrize("schedules", [1, 4])
def test_who_costs_a_fixed_number_of_statements(
    clock, cast, slack_secret, django_assert_num_queries, schedules: int
) -> None:
    team = TeamFactory(name="Platform", slug="platform")
    MembershipFactory(team=team, engineer=cast.ada)
    MembershipFactory(team=team, engineer=cast.grace)
    for n in range(schedules):
        schedule = schedule_services.schedule_create(team=team, name=f"S{n}")
        for level, who in enumerate([[cast.ada, cast.grace], [cast.grace]]):
            schedule_services.layer_create(
                schedule=schedule,
                name=f"L{level}",
                level=level,
                start_date=date(2026, 1, 5),
                members=who,
            )
    client = Client()
    body = command_body("who platform")
    with django_assert_num_queries(WHO_STATEMENTS[connection.vendor]):
        response = signed(client, "/slack/commands/", body)
    lines = response.json()["text"].split("\n")
    assert len(lines) == schedules
    assert lines[0] == "*Platform / S0*: Grace Hopper"  # the higher layer wins


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("", "payload"),
        ("payload=not-json", "payload"),
        ("payload=%5B1%5D", "payload"),
        ("payload=" + json.dumps({"type": "block_actions"}), "payload.user.id"),
        (
            urlencode({"payload": json.dumps({"type": "block_actions", "user": {"id": "U1X"}})}),
            "payload.actions",
        ),
        (
            urlencode(
                {
                    "payload": json.dumps(
                        {
                            "type": "block_actions",
                            "user": {"id": "U1X"},
                            "actions": [{"action_id": "incident_acknowledge", "value": "4x"}],
                        }
                    )
                }
            ),
            "payload.actions[0].value",
        ),
        ("payload=%00", "body"),
        ("payload=%ff%fe", "payload"),
    ],
)
def test_malformed_interactions_are_400(clock, cast, slack_secret, body, field) -> None:
    response = signed(Client(), "/slack/interactions/", body)
    assert response.status_code == 400
    assert response.json()["field"] == field


def test_other_interaction_types_and_unknown_actions_are_ignored(clock, cast, slack_secret) -> None:
    client = Client()
    body = urlencode({"payload": json.dumps({"type": "view_submission"})})
    assert signed(client, "/slack/interactions/", body).status_code == 200
    payload = {"type": "block_actions", "user": {"id": "U1X"}, "actions": [{"action_id": "x"}]}
    body = urlencode({"payload": json.dumps(payload)})
    assert signed(client, "/slack/interactions/", body).status_code == 200
    assert not Message.objects.exists()


def test_command_input_limits(clock, cast, slack_secret, settings) -> None:
    client = Client()
    response = signed(client, "/slack/commands/", urlencode({"text": "who"}))
    assert (response.status_code, response.json()["field"]) == (400, "user_id")
    response = signed(client, "/slack/commands/", command_body("who " + "x" * 3000))
    assert (response.status_code, response.json()["field"]) == (400, "text")
    settings.INBOUND_MAX_BODY_BYTES = 100
    response = signed(client, "/slack/commands/", command_body("help"))
    assert response.status_code == 413
    assert client.get("/slack/commands/").status_code == 405
    settings.SLACK_SIGNING_SECRET = ""
    settings.INBOUND_MAX_BODY_BYTES = 512 * 1024
    assert signed(client, "/slack/commands/", command_body("help"), secret="x").status_code == 403


def test_slash_command_sets_the_priority(clock, cast, fake_slack, paged) -> None:
    PriorityLevel.objects.bulk_create([PriorityLevel(level=n, name=f"SEV{n}") for n in range(1, 5)])
    client = Client()
    response = signed(client, "/slack/commands/", command_body(f"priority {paged.pk} sev2"))
    assert response.json()["text"] == f"You set #{paged.pk} to P2 (SEV2)."
    incident = Incident.objects.get(pk=paged.pk)
    assert incident.priority == 2
    line = incident.events.get(kind="priority")
    assert (line.actor, line.via, line.text) == (cast.ada, "slack", "priority none -> P2 (SEV2)")
    for text, expected in [
        (f"priority #{paged.pk} P2", f"#{paged.pk} is already P2 (SEV2)."),
        (f"priority {paged.pk} P5", "Not changed: P5 is not a priority in use here (use P1 (SEV1)"),
        (f"priority {paged.pk}", "Say which incident and priority: `/oncall priority 42 P1`."),
        ("priority 99999 P1", "There is no incident #99999."),
        (f"priority {paged.pk} none", f"You set #{paged.pk} to none."),
    ]:
        response = signed(client, "/slack/commands/", command_body(text))
        assert response.status_code == 200
        assert response.json()["text"].startswith(expected), text
    assert Incident.objects.get(pk=paged.pk).priority is None


def test_slash_command_priority_moves_an_unacknowledged_incident(
    clock, cast, fake_slack, paged
) -> None:
    fast = policy_with_steps([cast.grace], delay_minutes=5)
    fast.name = "db-urgent"
    fast.save()
    ServicePriorityPolicy.objects.create(service=cast.service, priority=1, escalation_policy=fast)
    response = signed(Client(), "/slack/commands/", command_body(f"priority {paged.pk} P1"))
    assert response.json()["text"] == (
        f"You set #{paged.pk} to P1: it now follows the escalation policy 'db-urgent'."
    )
    tick()
    # Grace (the P1 policy's step 1) is paged now, not 10 minutes later.
    assert Message.objects.filter(engineer=cast.grace, status="sent").count() == 1
