"""Slack posts follow their incident: an ack, resolve, escalation or reassignment updates
every message posted about it in place (``chat.update``, kind ``slack_update``); the
``incident_changes`` tick step calls this (``ChangeFollower`` of kind ``slack``)."""

from __future__ import annotations

from collections import defaultdict

from paging.channels.incident_changes import Outgoing
from paging.channels.slack.models import SlackPost
from paging.channels.slack.transport import KIND_UPDATE
from paging.models import IncidentEvent

SLACK_UPDATE_KINDS = frozenset(
    {
        IncidentEvent.Kind.ACKNOWLEDGED,
        IncidentEvent.Kind.RESOLVED,
        IncidentEvent.Kind.REASSIGNED,
        IncidentEvent.Kind.ESCALATED,
        IncidentEvent.Kind.ACK_TIMEOUT,
    }
)


def slack_post_updates(events: list[IncidentEvent]) -> list[Outgoing]:
    """One ``chat.update`` per post of each event's incident (one query for the batch)."""
    posts: dict[int, list[SlackPost]] = defaultdict(list)
    incident_ids = {e.incident_id for e in events}
    for post in SlackPost.objects.filter(incident_id__in=incident_ids).order_by("pk"):
        posts[post.incident_id].append(post)
    return [
        Outgoing(
            f"slack-update:{post.pk}:{event.pk}",
            KIND_UPDATE,
            f"{post.channel} {post.ts}",
            f"update #{event.incident_id}: {event.get_kind_display()}",
        )
        for event in events
        if event.kind in SLACK_UPDATE_KINDS
        for post in posts[event.incident_id]
    ]
