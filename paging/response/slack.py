"""``/oncall`` commands of incident response, registered with the Slack folder's command
table (``paging.channels.slack.actions.slash_command_register``):

- ``/oncall commander [N] @user`` (``comms`` for the communications lead; ``none`` clears)
- ``/oncall update [N] <state> <text>`` — investigating, identified, monitoring, resolved
- ``/oncall public [N] <public title>`` — show the incident on the status page

N may be left out in a channel the incident was paged to (its newest open incident).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from paging.channels.slack.actions import (
    VIA,
    CommandInput,
    Reply,
    SlashCommand,
    slack_mentioned_engineer,
)
from paging.response.models import IncidentRole, StatusUpdate
from paging.response.services import incident_publish, incident_role_assign, status_update_post

STATES = ", ".join(StatusUpdate.State.values)


def _which(cmd: CommandInput, usage: str) -> Reply | None:
    if cmd.incident_id is None:
        return Reply(f"Say which incident: {usage}.")
    return None


def _role(role: str, verb: str) -> SlashCommand:
    usage = f"`/oncall {verb} 42 @user`"

    def run(cmd: CommandInput) -> Reply:
        missing = _which(cmd, usage)
        if missing:
            return missing
        if len(cmd.args) != 1:
            return Reply(f"Say who: {usage} (`none` clears the role).")
        word = cmd.args[0]
        engineer = None if word.lower() == "none" else slack_mentioned_engineer(word)
        if engineer is None and word.lower() != "none":
            return Reply(f"I do not know {word[:60]!r} as an on-call engineer.")
        assert cmd.incident_id is not None
        result = incident_role_assign(
            incident_id=cmd.incident_id,
            role=role,
            engineer_id=engineer.pk if engineer else None,
            by_engineer_id=cmd.engineer.pk,
            via=VIA,
        )
        label = IncidentRole.Role(role).label.lower()
        who = engineer.display_name if engineer else "nobody"
        if not result.changed:
            return Reply(f"The {label} of #{cmd.incident_id} is already {who}.")
        return Reply(f"{who} is now {label} of #{cmd.incident_id}.", changed=True)

    label = IncidentRole.Role(role).label.lower()
    return SlashCommand(
        verbs=(verb,) if role == IncidentRole.Role.COMMANDER else (verb, "communications"),
        usage=f"{usage} — make @user the {label} of incident 42",
        run=run,
    )


def _update(cmd: CommandInput) -> Reply:
    usage = "`/oncall update 42 identified The database ran out of disk`"
    missing = _which(cmd, usage)
    if missing:
        return missing
    state, _, text = cmd.rest.partition(" ")
    state = state.lower()
    if state not in StatusUpdate.State.values or not text.strip():
        return Reply(f"Say the state ({STATES}) and the update: {usage}.")
    assert cmd.incident_id is not None
    try:
        result = status_update_post(
            incident_id=cmd.incident_id,
            state=state,
            text=text,
            engineer_id=cmd.engineer.pk,
            via=VIA,
        )
    except ValidationError as exc:
        return Reply("Not posted: " + "; ".join(exc.messages))
    public = " It is on the status page." if result.update.public else ""
    return Reply(
        f"Update posted on #{cmd.incident_id} ({result.notified.text()}).{public}", changed=True
    )


def _public(cmd: CommandInput) -> Reply:
    usage = "`/oncall public 42 Checkout is slow for some customers`"
    missing = _which(cmd, usage)
    if missing:
        return missing
    if not cmd.rest.strip():
        return Reply(f"Give the public title: {usage}.")
    assert cmd.incident_id is not None
    try:
        result = incident_publish(
            incident_id=cmd.incident_id,
            public_title=cmd.rest,
            engineer_id=cmd.engineer.pk,
            via=VIA,
        )
    except ValidationError as exc:
        return Reply("Not changed: " + "; ".join(exc.messages))
    title = result.publication.public_title
    if not result.changed:
        return Reply(f"#{cmd.incident_id} is already public as {title!r}.")
    return Reply(f"#{cmd.incident_id} is on the status page as {title!r}.", changed=True)


COMMANDS = (
    _role(IncidentRole.Role.COMMANDER, "commander"),
    _role(IncidentRole.Role.COMMUNICATIONS, "comms"),
    SlashCommand(
        verbs=("update",),
        usage="`/oncall update 42 <state> <text>` — post a status update "
        f"({STATES}) to the stakeholders",
        run=_update,
    ),
    SlashCommand(
        verbs=("public",),
        usage="`/oncall public 42 <title>` — show incident 42 on the status page",
        run=_public,
    ),
)
