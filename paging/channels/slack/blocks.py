"""Block Kit messages for an incident: text from templates beside this module, buttons.

Texts are Django templates (``templates/bridges/slack/``) rendered with values already
escaped for Slack mrkdwn (only ``&``, ``<`` and ``>`` are special there), so a title
cannot inject links or mentions. The buttons carry the incident id as their value.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.timesince import timesince

from paging.models import Incident
from paging.notify import incident_url

ACTION_ACKNOWLEDGE = "incident_acknowledge"
ACTION_RESOLVE = "incident_resolve"
ACTION_ESCALATE = "incident_escalate"
ACTIONS = (ACTION_ACKNOWLEDGE, ACTION_RESOLVE, ACTION_ESCALATE)

# Slack limits: section text 3000 characters, fallback text 40000.
SECTION_MAX = 3000
TITLE_MAX = 300

Block = dict[str, Any]


def slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _name(engineer: object | None) -> str:
    return slack_escape(str(engineer)) if engineer is not None else ""


def incident_text(incident: Incident) -> str:
    """One line for notifications and screen readers (Slack's ``text`` fallback)."""
    state = incident.get_status_display().upper()
    return f"[{state}] #{incident.pk} {incident.title[:TITLE_MAX]} ({incident.service.name})"


def _button(text: str, action_id: str, incident_id: int, style: str = "") -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": str(incident_id),
    }
    if style:
        button["style"] = style
    return button


def incident_blocks(incident: Incident) -> list[Block]:
    """The message for ``incident`` in its current state (buttons only while open)."""
    now = timezone.now()
    summary = render_to_string(
        "bridges/slack/incident.txt",
        {
            "url": incident_url(incident.pk),
            "incident_id": incident.pk,
            "title": slack_escape(incident.title[:TITLE_MAX]),
            "service": slack_escape(incident.service.name),
            "severity": slack_escape(incident.severity),
            "urgency": slack_escape(incident.urgency),
            "opened_at": incident.created_at,
            "open_for": timesince(incident.created_at, max(now, incident.created_at))
            if now - incident.created_at >= timedelta(minutes=1)
            else "less than a minute",
        },
    ).strip()
    status = render_to_string(
        "bridges/slack/status.txt",
        {
            "status": incident.status,
            "acknowledged_by": _name(incident.acknowledged_by),
            "acknowledged_via": slack_escape(incident.acknowledged_via),
            "acknowledged_at": incident.acknowledged_at,
            "resolved_by": _name(incident.resolved_by),
            "resolved_via": slack_escape(incident.resolved_via),
            "resolved_at": incident.resolved_at,
        },
    ).strip()
    blocks: list[Block] = [
        {
            "type": "section",
            "block_id": f"summary_{incident.pk}",
            "text": {"type": "mrkdwn", "text": summary[:SECTION_MAX]},
        },
        {
            "type": "context",
            "block_id": f"status_{incident.pk}",
            "elements": [{"type": "mrkdwn", "text": status[:SECTION_MAX]}],
        },
    ]
    buttons: list[Block] = []
    if incident.status == Incident.Status.TRIGGERED:
        buttons.append(_button("Acknowledge", ACTION_ACKNOWLEDGE, incident.pk, "primary"))
    if incident.status != Incident.Status.RESOLVED:
        buttons.append(_button("Resolve", ACTION_RESOLVE, incident.pk))
        buttons.append(_button("Escalate", ACTION_ESCALATE, incident.pk, "danger"))
    if buttons:
        blocks.append(
            {"type": "actions", "block_id": f"incident_{incident.pk}", "elements": buttons}
        )
    return blocks
