"""What Slack users can do: acknowledge, resolve or escalate an incident, set its
priority, ask who is on call. Each function calls the paging service (one transaction)
and returns the text to show the user; the views only parse and answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

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
    from schedules.selectors import oncall_engineer_ids

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
    lines: list[str] = []
    for team in teams:
        schedules = list(Schedule.objects.filter(team=team).order_by("name"))
        if not schedules:
            lines.append(f"*{team.name}*: no schedules")
            continue
        for schedule in schedules:
            try:
                ids = oncall_engineer_ids(schedule_id=schedule.pk, at=now)
            except Exception:  # one broken schedule must not hide the others
                logger.exception("schedule %s could not be resolved", schedule.pk)
                lines.append(f"*{team.name} / {schedule.name}*: could not be resolved")
                continue
            names = dict(Engineer.objects.filter(pk__in=ids).values_list("pk", "display_name"))
            who = ", ".join(names[i] for i in ids if i in names) or "nobody on call"
            lines.append(f"*{team.name} / {schedule.name}*: {who}")
    return Reply("\n".join(lines) or "No teams yet.")


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


HELP = (
    "`/oncall who [team]` — who is on call now (your teams, or the team named)\n"
    "`/oncall ack N` — acknowledge incident N\n"
    "`/oncall resolve N [fixed|false_positive|duplicate|no_action_needed]` — resolve"
    " incident N (and say why)\n"
    "`/oncall priority N P1` — set incident N's priority (P1..P5 or its name; `none` clears)\n"
    "`/oncall help` — this text"
)

COMMAND_ACTIONS = {
    "ack": ACTION_ACKNOWLEDGE,
    "acknowledge": ACTION_ACKNOWLEDGE,
    "resolve": ACTION_RESOLVE,
    "escalate": ACTION_ESCALATE,
}


def oncall_command(*, text: str, slack_user_id: str) -> Reply:
    """The ``/oncall`` slash command: ``who [team]``, ``ack N``, ``resolve N``,
    ``priority N P1``, ``help``."""
    words = text.split()
    verb = words[0].lower() if words else "help"
    if verb == "help":
        return Reply(HELP)
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
    return Reply(f"I do not know {verb[:40]!r}.\n{HELP}")


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
