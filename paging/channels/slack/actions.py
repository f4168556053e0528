"""What Slack users can do: acknowledge, resolve or escalate an incident, set its
priority, ask who is on call. Each function calls the paging service (one transaction)
and returns the text to show the user; the views only parse and answer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from oncall.people.models import ContactMethod, Engineer, Team
from oncall.public_url import public_url
from paging.channels.slack.blocks import ACTION_ACKNOWLEDGE, ACTION_ESCALATE, ACTION_RESOLVE
from paging.channels.slack.transport import KIND_DM
from paging.incident_actions import (
    RESOLUTION_VALUES,
    ActionResult,
    incident_acknowledge,
    incident_escalate_now,
    incident_resolve,
    incident_set_priority,
    resolution_label,
)
from paging.kick import kick_engine
from paging.models import Incident
from paging.priorities import PriorityInvalid, priority_label, priority_levels, priority_parse
from schedules.models import Schedule
from schedules.resolver import oncall_at
from schedules.selectors import schedule_definition, schedule_definitions

logger = logging.getLogger(__name__)

VIA = "slack"


@dataclass(frozen=True)
class Reply:
    text: str
    changed: bool = False


def slack_engineer(*, slack_user_id: str) -> Engineer | None:
    """The engineer with a Slack contact method for this member id (disabled or not:
    it identifies the person even when paging there is switched off)."""
    cm = (
        ContactMethod.objects.filter(kind=KIND_DM, value=slack_user_id)
        .select_related("engineer")
        .order_by("id")
        .first()
    )
    return cm.engineer if cm else None


def link_account_text(slack_user_id: str) -> str:
    return (
        f"Your Slack account ({slack_user_id}) is not linked to an on-call engineer, so I "
        f"cannot act for you. Add a Slack contact method with member id `{slack_user_id}` "
        f"to your profile at {public_url()} and try again."
    )


def _when(moment: object) -> str:
    return f"{moment:%H:%M} UTC" if moment else "an unknown time"


def _state_text(incident: Incident) -> str:
    """Who got there first, for a second ack or an action on a closed incident."""
    if incident.status == Incident.Status.RESOLVED:
        who = incident.resolved_by or "someone"
        via = f" via {incident.resolved_via}" if incident.resolved_via else ""
        return (
            f"#{incident.pk} was already resolved by {who}{via} at {_when(incident.resolved_at)}."
        )
    if incident.status == Incident.Status.ACKNOWLEDGED:
        who = incident.acknowledged_by or "someone"
        via = f" via {incident.acknowledged_via}" if incident.acknowledged_via else ""
        return (
            f"#{incident.pk} was already acknowledged by {who}{via} at "
            f"{_when(incident.acknowledged_at)}."
        )
    return f"#{incident.pk} is triggered."


def slack_incident_act(
    *, action: str, incident_id: int, engineer: Engineer, resolution: str | None = None
) -> Reply:
    """Run ``action`` (a button's action id) on the incident as ``engineer`` (a resolve
    may say why: ``resolution``)."""
    if not Incident.objects.filter(pk=incident_id).exists():
        return Reply(f"There is no incident #{incident_id}.")
    result: ActionResult
    if action == ACTION_ACKNOWLEDGE:
        result = incident_acknowledge(incident_id=incident_id, engineer_id=engineer.pk, via=VIA)
        done = f"You acknowledged #{incident_id}: paging has stopped."
    elif action == ACTION_RESOLVE:
        result = incident_resolve(
            incident_id=incident_id, engineer_id=engineer.pk, via=VIA, resolution=resolution
        )
        done = f"You resolved #{incident_id}" + (
            f" ({resolution_label(resolution).lower()})." if resolution else "."
        )
    elif action == ACTION_ESCALATE:
        result = incident_escalate_now(incident_id=incident_id, engineer_id=engineer.pk, via=VIA)
        done = f"You escalated #{incident_id}: the next step is paged now."
    else:
        return Reply(f"Unknown action {action!r}.")
    # The Slack messages are updated (and PagerDuty told) by the next tick: now.
    kick_engine()
    if result.changed:
        return Reply(done, changed=True)
    incident = Incident.objects.select_related("acknowledged_by", "resolved_by").get(pk=incident_id)
    return Reply(_state_text(incident))


def oncall_who(*, team_query: str, engineer: Engineer) -> Reply:
    """Who is on call now in the team's schedules (the engineer's teams without a name)."""
    query = team_query.strip()
    if query:
        teams = list(Team.objects.filter(slug__iexact=query)) or list(
            Team.objects.filter(name__iexact=query)
        )
        if not teams:
            known = ", ".join(Team.objects.order_by("slug").values_list("slug", flat=True)[:20])
            return Reply(f"There is no team {query[:80]!r}. Teams: {known or 'none yet'}.")
    else:
        teams = list(engineer.teams.all()) or list(Team.objects.all()[:20])
    now = timezone.now()
    # Every schedule of every team, their definitions and the names: a fixed number of
    # statements whatever the number of schedules (the test pins it).
    by_team: dict[int, list[Schedule]] = {team.pk: [] for team in teams}
    for schedule in Schedule.objects.filter(team__in=teams).order_by("name"):
        by_team[schedule.team_id].append(schedule)
    on_call = _on_call_now([s for team in teams for s in by_team[team.pk]], now)
    names = dict(
        Engineer.objects.filter(
            pk__in={i for ids in on_call.values() if ids is not None for i in ids}
        ).values_list("pk", "display_name")
    )
    lines: list[str] = []
    for team in teams:
        if not by_team[team.pk]:
            lines.append(f"*{team.name}*: no schedules")
        for schedule in by_team[team.pk]:
            ids = on_call[schedule.pk]
            if ids is None:
                lines.append(f"*{team.name} / {schedule.name}*: could not be resolved")
                continue
            who = ", ".join(names[i] for i in ids if i in names) or "nobody on call"
            lines.append(f"*{team.name} / {schedule.name}*: {who}")
    return Reply("\n".join(lines) or "No teams yet.")


def _on_call_now(schedules: list[Schedule], now: datetime) -> dict[int, list[int] | None]:
    """Engineer ids on call now per schedule (None: it could not be resolved)."""
    try:
        definitions = schedule_definitions([s.pk for s in schedules])
    except Exception:  # a broken schedule: read them one by one, so it hides no other
        logger.exception("schedules could not be read together")
        definitions = {}
    out: dict[int, list[int] | None] = {}
    for schedule in schedules:
        try:
            definition = definitions.get(schedule.pk) or schedule_definition(schedule.pk)
            out[schedule.pk] = oncall_at(definition, now)
        except Exception:  # one broken schedule must not hide the others
            logger.exception("schedule %s could not be resolved", schedule.pk)
            out[schedule.pk] = None
    return out


def slack_incident_priority(*, incident_id: int, value: str, engineer: Engineer) -> Reply:
    """``/oncall priority N P1``: grade the incident as ``engineer`` (``none`` clears it)."""
    if not Incident.objects.filter(pk=incident_id).exists():
        return Reply(f"There is no incident #{incident_id}.")
    levels = priority_levels()
    try:
        priority = None if value.lower() == "none" else priority_parse(value, levels)
    except PriorityInvalid as exc:
        return Reply(f"Not changed: {exc}.")
    label = priority_label(priority, levels)
    result = incident_set_priority(
        incident_id=incident_id, priority=priority, engineer_id=engineer.pk, via=VIA
    )
    if not result.changed:
        return Reply(f"#{incident_id} is already {label}.")
    if result.moved_to is not None:
        kick_engine()
        return Reply(
            f"You set #{incident_id} to {label}: it now follows the escalation policy "
            f"'{result.moved_to.name}'.",
            changed=True,
        )
    return Reply(f"You set #{incident_id} to {label}.", changed=True)


HELP_LINES = [
    "`/oncall who [team]` — who is on call now (your teams, or the team named)",
    "`/oncall ack N` — acknowledge incident N",
    "`/oncall resolve N [fixed|false_positive|duplicate|no_action_needed]` — resolve"
    " incident N (and say why)",
    "`/oncall priority N P1` — set incident N's priority (P1..P5 or its name; `none` clears)",
]
HELP = "\n".join([*HELP_LINES, "`/oncall help` — this text"])


# --- commands other apps add (``paging.response``: commander, update, public) ----------


@dataclass(frozen=True)
class CommandInput:
    """What a registered command gets: the words after the verb (the incident number
    taken off), the incident (the number given, else the newest open incident posted
    to the channel the command was typed in; None if neither) and who typed it."""

    args: list[str]
    rest: str  # the text after the verb and the number, spacing kept
    incident_id: int | None
    engineer: Engineer


@dataclass(frozen=True)
class SlashCommand:
    verbs: tuple[str, ...]
    usage: str  # one help line
    run: Callable[[CommandInput], Reply]


_COMMANDS: dict[str, SlashCommand] = {}
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_NUMBER = re.compile(r"^#?(\d{1,12})$")


def slash_command_register(command: SlashCommand) -> None:
    for verb in command.verbs:
        _COMMANDS[verb] = command


def help_text() -> str:
    extra = list(dict.fromkeys(c.usage for c in _COMMANDS.values()))
    return "\n".join([*HELP_LINES, *extra, "`/oncall help` — this text"])


def slack_mentioned_engineer(word: str) -> Engineer | None:
    """The engineer a mention names: ``<@U123|ada>`` (Slack's escaped form), ``@U123``,
    or ``@ada`` (a username, else a display name without spaces)."""
    found = _MENTION.match(word)
    if found:
        return slack_engineer(slack_user_id=found.group(1))
    name = word.lstrip("@")
    if not name:
        return None
    if re.fullmatch(r"[UW][A-Z0-9]{6,}", name):
        by_id = slack_engineer(slack_user_id=name)
        if by_id is not None:
            return by_id
    return (
        Engineer.objects.filter(user__username__iexact=name).first()
        or Engineer.objects.filter(display_name__iexact=name).first()
    )


def _channel_incident(channel_id: str) -> int | None:
    """The newest open incident paged to this Slack channel (for commands typed there
    without a number)."""
    if not channel_id:
        return None
    from paging.channels.slack.models import SlackPost

    return (
        SlackPost.objects.filter(channel=channel_id, incident__status__in=Incident.OPEN_STATUSES)
        .order_by("-incident__created_at", "-incident_id")
        .values_list("incident_id", flat=True)
        .first()
    )


def _registered_command(
    command: SlashCommand, text: str, engineer: Engineer, channel_id: str
) -> Reply:
    rest = text.split(None, 1)[1] if len(text.split(None, 1)) > 1 else ""
    first, _, after = rest.partition(" ")
    number = _NUMBER.match(first)
    if number:
        incident_id: int | None = int(number.group(1))
        rest = after.strip()
    else:
        incident_id = _channel_incident(channel_id)
    if incident_id is not None and not Incident.objects.filter(pk=incident_id).exists():
        return Reply(f"There is no incident #{incident_id}.")
    return command.run(
        CommandInput(args=rest.split(), rest=rest, incident_id=incident_id, engineer=engineer)
    )


COMMAND_ACTIONS = {
    "ack": ACTION_ACKNOWLEDGE,
    "acknowledge": ACTION_ACKNOWLEDGE,
    "resolve": ACTION_RESOLVE,
    "escalate": ACTION_ESCALATE,
}


def oncall_command(*, text: str, slack_user_id: str, channel_id: str = "") -> Reply:
    """The ``/oncall`` slash command: ``who [team]``, ``ack N``, ``resolve N``,
    ``priority N P1``, ``help``, and the registered commands."""
    words = text.split()
    verb = words[0].lower() if words else "help"
    if verb == "help":
        return Reply(help_text())
    engineer = slack_engineer(slack_user_id=slack_user_id)
    if engineer is None:
        return Reply(link_account_text(slack_user_id))
    if verb == "who":
        return oncall_who(team_query=" ".join(words[1:]), engineer=engineer)
    if verb == "priority":
        number = words[1].lstrip("#") if len(words) == 3 else ""
        if not number.isascii() or not number.isdigit() or len(number) > 12:
            return Reply("Say which incident and priority: `/oncall priority 42 P1`.")
        return slack_incident_priority(incident_id=int(number), value=words[2], engineer=engineer)
    resolution = None
    if verb == "resolve" and len(words) > 2:
        # "/oncall resolve 42 false positive" (or false_positive, false-positive).
        resolution = "_".join(words[2:]).lower().replace("-", "_")
        if resolution not in RESOLUTION_VALUES:
            return Reply(f"A resolution is one of: {', '.join(RESOLUTION_VALUES)}.")
        words = words[:2]
    if verb in COMMAND_ACTIONS:
        number = words[1].lstrip("#") if len(words) == 2 else ""
        if not number.isascii() or not number.isdigit() or len(number) > 12:
            return Reply(f"Say which incident: `/oncall {verb} 42`.")
        return slack_incident_act(
            action=COMMAND_ACTIONS[verb],
            incident_id=int(number),
            engineer=engineer,
            resolution=resolution,
        )
    if verb in _COMMANDS:
        return _registered_command(_COMMANDS[verb], text.strip(), engineer, channel_id)
    return Reply(f"I do not know {verb[:40]!r}.\n{help_text()}")


def slack_ephemeral_reply(*, channel: str, user: str, text: str, key: str) -> None:
    """Queue a reply only ``user`` sees in ``channel`` (Slack ignores the HTTP answer to
    a button press, so the reply is a ``chat.postEphemeral`` through the outbox)."""
    from paging.channels.slack.transport import KIND_EPHEMERAL
    from paging.models import Message
    from paging.outbox import message_enqueue

    message_enqueue(
        idempotency_key=f"slack-reply:{key}"[:255],
        purpose=Message.Purpose.NOTICE,
        kind=KIND_EPHEMERAL,
        destination=f"{channel} {user}"[:254],
        body=text,
    )
    kick_engine()
