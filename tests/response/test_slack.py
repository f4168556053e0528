"""``/oncall commander|comms|update|public`` through the signed slash-command endpoint,
with the real Slack client against the fake Slack: outcomes in the database, and the
stakeholder channel's post in the fake."""

from __future__ import annotations

import pytest
from django.test import Client

from paging.channels.slack.models import SlackPost
from paging.engine import tick
from paging.models import IncidentEvent
from paging.response.models import IncidentPublication, IncidentRole, StatusUpdate
from tests.channels.slack_pagerduty.conftest import fake_slack  # noqa: F401
from tests.channels.slack_pagerduty.test_slack_inbound import command_body, signed
from tests.factories import ContactMethodFactory
from tests.response.conftest import STAKE_CHANNEL, Cast

pytestmark = pytest.mark.django_db
LENA_SLACK = "U0LENA0001"
ALICE_SLACK = "U0ALICE001"


@pytest.fixture
def slack_cast(cast: Cast, fake_slack) -> Cast:  # noqa: F811
    ContactMethodFactory(engineer=cast.lena, kind="slack", value=LENA_SLACK)
    ContactMethodFactory(engineer=cast.alice, kind="slack", value=ALICE_SLACK)
    return cast


def _say(text: str, user: str = LENA_SLACK) -> str:
    answer = signed(Client(), "/slack/commands/", command_body(text, user))
    assert answer.status_code == 200
    return answer.json()["text"]


def test_commander_by_mention_and_number(slack_cast: Cast) -> None:
    n = slack_cast.incident.pk
    assert (
        _say(f"commander {n} <@{ALICE_SLACK}|alice>") == f"Alice is now incident commander of #{n}."
    )
    role = IncidentRole.objects.get(role="commander")
    assert (role.engineer_id, role.assigned_by_id, role.via) == (
        slack_cast.alice.pk,
        slack_cast.lena.pk,
        "slack",
    )
    assert _say(f"commander #{n} @alice") == f"The incident commander of #{n} is already Alice."
    assert _say(f"comms {n} @priya") == f"Priya is now communications lead of #{n}."
    assert _say(f"comms {n} none") == f"nobody is now communications lead of #{n}."
    line = IncidentEvent.objects.filter(kind=IncidentEvent.Kind.ROLE).order_by("id").first()
    assert (line.text, line.via, line.actor_id) == (
        "Incident commander: Alice",
        "slack",
        slack_cast.lena.pk,
    )


def test_commands_in_the_incidents_channel_need_no_number(slack_cast: Cast) -> None:
    # The sample command comes from channel C0ONCALL, where the incident was posted.
    SlackPost.objects.create(
        incident=slack_cast.incident, kind=SlackPost.Kind.CHANNEL, channel="C0ONCALL", ts="1.2"
    )
    n = slack_cast.incident.pk
    assert _say("commander @alice") == f"Alice is now incident commander of #{n}."
    assert _say("public Payments are failing") == (
        f"#{n} is on the status page as 'Payments are failing'."
    )
    assert IncidentPublication.objects.get().public_title == "Payments are failing"


def test_update_tells_stakeholders_in_slack(slack_cast: Cast, fake_slack) -> None:  # noqa: F811
    tick()  # Alice's page (SMS, console)
    n = slack_cast.incident.pk
    reply = _say(f"update {n} identified The primary database ran out of disk")
    assert reply == (f"Update posted on #{n} (told Priya, Slack C0STAKEHOLD; not reachable: Sam).")
    update = StatusUpdate.objects.get()
    assert (update.state, update.text, update.via, update.actor_id) == (
        "identified",
        "The primary database ran out of disk",
        "slack",
        slack_cast.lena.pk,
    )
    tick()
    posts = fake_slack.take("chat.postMessage")
    assert [p.params["channel"] for p in posts] == [STAKE_CHANNEL]
    assert "Identified: The primary database ran out of disk" in posts[0].params["text"]


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        (
            "update {n} fixed all good",
            "Say the state (investigating, identified, monitoring, resolved)",
        ),
        ("update {n} identified", "Say the state"),
        ("update identified no number", "Say which incident"),
        ("commander {n} @nosuchperson", "I do not know '@nosuchperson'"),
        ("commander {n}", "Say who"),
        ("public {n}", "Give the public title"),
        ("public 999999 Title", "There is no incident #999999."),
    ],
)
def test_bad_commands_say_why(slack_cast: Cast, text: str, reply: str) -> None:
    assert _say(text.format(n=slack_cast.incident.pk)).startswith(reply)
    assert not StatusUpdate.objects.exists()
    assert not IncidentRole.objects.exists()
    assert not IncidentPublication.objects.exists()


def test_help_lists_the_new_commands(slack_cast: Cast) -> None:
    text = _say("help")
    for usage in (
        "/oncall commander 42 @user",
        "/oncall update 42 <state> <text>",
        "/oncall public 42",
    ):
        assert usage in text


def test_unlinked_slack_user_cannot_act(slack_cast: Cast) -> None:
    assert "not linked" in _say(f"commander {slack_cast.incident.pk} @alice", user="U0NOBODY1")
    assert not IncidentRole.objects.exists()
