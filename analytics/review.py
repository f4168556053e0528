"""Post-incident review drafts: Markdown rendered from an admin-editable template."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.template import Context, Engine, TemplateSyntaxError

from analytics.models import ReviewTemplate
from paging.models import Incident, IncidentEvent, Message
from paging.response.models import ActionItem, IncidentRole, StatusUpdate

logger = logging.getLogger(__name__)

DEFAULT_TEMPLATE = """\
# Post-incident review: {{ incident.title }}

*Draft generated {{ generated_at }} from incident #{{ incident.pk }}. Edit before sharing.*

## Summary

- **Service:** {{ incident.service.name }} (team {{ incident.service.team.name }})
- **Severity / urgency:** {{ incident.severity }} / {{ incident.urgency }}
- **Status:** {{ incident.status }}
- **Triggered:** {{ triggered_at }}
- **Acknowledged:** {{ acknowledged_at|default:"never" }}{{ acked_by }}{{ acked_again }}
- **Resolved:** {{ resolved_at|default:"not yet" }}{{ resolved_by }}
- **Time to acknowledge:** {{ tta|default:"n/a" }}
- **Time to resolve:** {{ ttr|default:"n/a" }}

## Impact

_Who and what was affected, for how long? ({{ alert_count }} alert(s) attached.)_

## Timeline (UTC)

| Time | Event | Who | Details |
| --- | --- | --- | --- |
{% for e in timeline %}| {{ e.at }} | {{ e.kind }} | {{ e.actor|default:"" }} | {{ e.text }} |
{% endfor %}
## Roles

{% for r in roles %}- **{{ r.label }}:** {{ r.name }}
{% endfor %}
## Status updates (UTC)

{% for u in status_updates %}- {{ u.line }}
{% empty %}- none posted
{% endfor %}
## Responders

{% for r in responders %}- {{ r }}
{% empty %}- nobody responded
{% endfor %}
## Root cause

_TODO_

## Action items

{% for a in action_items %}- {{ a.line }}
{% empty %}- [ ] _TODO: action item, owner, due date_
{% endfor %}"""


@dataclass(frozen=True)
class TimelineLine:
    at: str
    kind: str
    actor: str
    text: str


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def duration_text(delta: timedelta | None) -> str:
    """``1h 02m 03s`` style; empty for None."""
    if delta is None:
        return ""
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def _md_cell(text: str) -> str:
    # Keep table rows intact: no pipes or newlines inside a cell.
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _response_context(incident_id: int, now: datetime) -> dict[str, object]:
    """Roles, status updates and action items (``paging.response``) for the draft."""
    held = {
        r.role: r.engineer.display_name
        for r in IncidentRole.objects.filter(incident_id=incident_id).select_related("engineer")
        if r.engineer is not None
    }
    roles = [
        {"label": label, "name": held.get(value, "nobody")}
        for value, label in IncidentRole.Role.choices
    ]
    updates = []
    for u in StatusUpdate.objects.filter(incident_id=incident_id).select_related("actor"):
        row: dict[str, object] = {
            "at": _when(u.at),
            "state": u.get_state_display(),
            "text": u.text.replace("\n", " "),
            "public": u.public,
            "actor": u.actor.display_name if u.actor else "",
        }
        row["line"] = (
            f"{row['at']} **{row['state']}**{' (public)' if u.public else ''}: {row['text']}"
            + (f" — {row['actor']}" if row["actor"] else "")
        )
        updates.append(row)
    items = []
    for a in (
        ActionItem.objects.filter(incident_id=incident_id)
        .select_related("owner")
        .order_by(*ActionItem.ORDER)
    ):
        overdue = not a.done and a.due_date is not None and a.due_date < now.date()
        owner = a.owner.display_name if a.owner else ""
        due = a.due_date.isoformat() if a.due_date else ""
        items.append(
            {
                "title": a.title,
                "owner": owner,
                "due": due,
                "done": a.done,
                "overdue": overdue,
                "line": f"[{'x' if a.done else ' '}] {a.title} — owner: {owner or 'nobody'}, "
                f"due: {due or 'no date'}" + (" **(overdue)**" if overdue else ""),
            }
        )
    return {"roles": roles, "status_updates": updates, "action_items": items}


def review_template_text() -> str:
    body = ReviewTemplate.objects.filter(name="default").values_list("body", flat=True).first()
    return body or DEFAULT_TEMPLATE


def review_markdown(*, incident_id: int, now: datetime) -> str:
    """The Markdown draft. Raises ``Incident.DoesNotExist`` for an unknown id."""
    incident = Incident.objects.select_related(
        "service__team", "acknowledged_by", "first_acknowledged_by", "resolved_by"
    ).get(pk=incident_id)
    events = list(
        IncidentEvent.objects.filter(incident_id=incident_id)
        .select_related("actor")
        .order_by("at", "id")
    )
    timeline = [
        TimelineLine(
            at=_when(e.at),
            kind=e.get_kind_display(),
            actor=_md_cell(e.actor.display_name if e.actor else ""),
            text=_md_cell(e.text),
        )
        for e in events
    ]
    responders: list[str] = []
    for e in events:
        if e.actor and e.actor.display_name not in responders:
            responders.append(e.actor.display_name)
    paged = (
        Message.objects.filter(incident_id=incident_id, purpose=Message.Purpose.PAGE)
        .exclude(engineer=None)
        .values_list("engineer__display_name", flat=True)
        .distinct()
    )
    for name in sorted(paged):
        if name not in responders:
            responders.append(f"{name} (paged)")
    # The first acknowledgement and who gave it (kept across ack timeouts), as MTTA
    # measures and credits it; rows from before the first ack was kept have only the latest.
    if incident.first_acknowledged_at is not None:
        ack, acker = incident.first_acknowledged_at, incident.first_acknowledged_by
    else:
        ack, acker = incident.acknowledged_at, incident.acknowledged_by
    latest = incident.acknowledged_at
    acked_again = ""
    if latest is not None and ack is not None and latest != ack:
        who = f" by {incident.acknowledged_by.display_name}" if incident.acknowledged_by else ""
        acked_again = f" (after an ack timeout, acknowledged again {_when(latest)}{who})"
    res = incident.resolved_at
    context = {
        "incident": incident,
        "generated_at": _when(now),
        "triggered_at": _when(incident.created_at),
        "acknowledged_at": _when(ack),
        "resolved_at": _when(res),
        "acked_by": f" by {acker.display_name}" if acker else "",
        "acked_again": acked_again,
        "resolved_by": f" by {incident.resolved_by.display_name}" if incident.resolved_by else "",
        "tta": duration_text(ack - incident.created_at if ack else None),
        "ttr": duration_text(res - incident.created_at if res else None),
        "timeline": timeline,
        "responders": responders,
        "alert_count": incident.alerts.count(),
        **_response_context(incident_id, now),
    }
    engine = Engine(autoescape=False)
    try:
        template = engine.from_string(review_template_text())
    except TemplateSyntaxError:
        # An admin's broken edit must not hide the draft: fall back to the default.
        logger.warning("review template has a syntax error; using the default")
        template = engine.from_string(DEFAULT_TEMPLATE)
    return template.render(Context(context))
