"""Incident response writes: roles, status updates, publishing to the status page,
action items, stakeholder subscriptions and status page groups.

One function per change, one transaction each; the admin, the API, Slack and the config
file call these. Each incident change writes a timeline line and an audit entry in the
same transaction; notices (to stakeholders, to a new role holder) are outbox rows in
that transaction too (``paging.notices.notice_send``: every rule at the start of the
person's low-urgency ladder, or a Slack post), so a rolled-back change sends nothing and
a retry sends nothing twice (the purpose holds the status update's or the timeline
line's id).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from oncall.audit.services import audit_record, audit_snapshot, audited_delete, audited_save
from oncall.people.models import Engineer
from paging.channels.webhooks.events import webhook_event_emit
from paging.models import Incident, IncidentEvent, Service
from paging.notices import SlackChannel, notice_send
from paging.notify import RulesCache, incident_url
from paging.response.models import (
    ActionItem,
    IncidentPublication,
    IncidentRole,
    StakeholderSubscription,
    StatusPageGroup,
    StatusUpdate,
)
from paging.timeline import event_record

MAX_UPDATE_TEXT = 2000
MAX_PUBLIC_TITLE = 200
SLACK_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,20}$")


# --- notices ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Notified:
    """Who a status update reached: names of people and Slack channels; people with no
    pageable contact method (and Slack channels when no Slack is installed) are in
    ``unreachable``."""

    people: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)

    def text(self) -> str:
        told = self.people + [f"Slack {c}" for c in self.channels]
        out = f"told {', '.join(told)}" if told else "no stakeholders subscribed"
        if self.unreachable:
            out += f"; not reachable: {', '.join(self.unreachable)}"
        return out


def _stakeholders_notify(incident: Incident, update: StatusUpdate) -> Notified:
    """Send the update to the service's stakeholders: notices (``notice_send``), one per
    update and recipient."""
    subscriptions = list(
        StakeholderSubscription.objects.filter(service_id=incident.service_id)
        .select_related("engineer")
        .order_by("id")
    )
    state = update.get_state_display()
    subject = f"[{state}] #{incident.pk} {incident.title}"
    body = (
        f"{incident.service.name} #{incident.pk} {incident.title}\n{state}: {update.text}\n"
        f"{incident_url(incident.pk)}"
    )
    purpose = f"status-update:{update.pk}"
    rules = RulesCache()
    rules.load([s.engineer_id for s in subscriptions if s.engineer_id is not None], "low")
    notified = Notified()
    for sub in subscriptions:
        if sub.engineer is not None:
            result = notice_send(
                incident, sub.engineer, body, purpose=purpose, subject=subject, cache=rules
            )
            names = notified.people if result.reached else notified.unreachable
            names.append(sub.engineer.display_name)
        else:
            result = notice_send(
                incident,
                SlackChannel(sub.slack_channel),
                f"*{subject}*\n{state}: {update.text}\n{incident_url(incident.pk)}",
                purpose=purpose,
            )
            names = notified.channels if result.reached else notified.unreachable
            names.append(sub.slack_channel if result.reached else f"Slack {sub.slack_channel}")
    return notified


# --- helpers ---------------------------------------------------------------------------


def _incident_locked(incident_id: int) -> Incident:
    try:
        return (
            Incident.objects.select_for_update(of=("self",))
            .select_related("service")
            .get(pk=incident_id)
        )
    except Incident.DoesNotExist:
        raise ValidationError({"incident": f"there is no incident #{incident_id}"}) from None


def _engineer(engineer_id: int | None, field_name: str) -> Engineer | None:
    if engineer_id is None:
        return None
    engineer = Engineer.objects.filter(pk=engineer_id).first()
    if engineer is None:
        raise ValidationError({field_name: f"there is no engineer with id {engineer_id}"})
    return engineer


def _choice(value: str, choices: type, field_name: str) -> str:
    allowed = [c.value for c in choices]  # type: ignore[attr-defined]
    if value not in allowed:
        raise ValidationError({field_name: f"{value!r} is not one of {', '.join(allowed)}"})
    return value


def _text(value: str, field_name: str, limit: int) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field_name: "must not be empty"})
    if len(value) > limit:
        raise ValidationError({field_name: f"longer than {limit} characters"})
    return value


# --- roles -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleResult:
    role: IncidentRole
    changed: bool


def incident_role_assign(
    *,
    incident_id: int,
    role: str,
    engineer_id: int | None,
    by_engineer_id: int | None = None,
    via: str = "api",
) -> RoleResult:
    """Give ``role`` (commander, communications) on the incident to an engineer (None
    clears it). The new holder is told (a notice, their low-urgency ladder's start)."""
    _choice(role, IncidentRole.Role, "role")
    with transaction.atomic():
        incident = _incident_locked(incident_id)
        engineer = _engineer(engineer_id, "engineer")
        now = timezone.now()
        current = (
            IncidentRole.objects.select_related("engineer")
            .filter(incident=incident, role=role)
            .first()
        )
        if current is not None and current.engineer_id == engineer_id:
            return RoleResult(role=current, changed=False)
        was = current.engineer.display_name if current and current.engineer else None
        label = IncidentRole.Role(role).label
        row, _ = IncidentRole.objects.update_or_create(
            incident=incident,
            role=role,
            defaults={
                "engineer": engineer,
                "assigned_at": now,
                "assigned_by_id": by_engineer_id,
                "via": via,
            },
        )
        now_name = engineer.display_name if engineer else None
        text = f"{label}: {now_name or 'nobody'}" + (f" (was {was})" if was else "")
        line = event_record(
            incident_id=incident.pk,
            kind=IncidentEvent.Kind.ROLE,
            at=now,
            actor_id=by_engineer_id,
            via=via,
            text=text,
            data={"role": role, "engineer": engineer_id},
        )
        audit_record(
            "role",
            incident,
            changes={role: (was, now_name)},
            engineer_id=by_engineer_id,
            note=via,
        )
        if engineer is not None and engineer.pk != by_engineer_id:
            # Purpose by timeline line: given the role again after someone else held
            # it, they are told again; a retry of this change is not a new line.
            notice_send(
                incident,
                engineer,
                f"You are {label.lower()} of {incident.service.name} #{incident.pk} "
                f"{incident.title}. {incident_url(incident.pk)}",
                purpose=f"role:{role}:{line.pk}",
                subject=f"You are {label.lower()} of #{incident.pk}",
            )
    return RoleResult(role=row, changed=True)


# --- status updates --------------------------------------------------------------------


@dataclass(frozen=True)
class StatusUpdateResult:
    update: StatusUpdate
    notified: Notified


def status_update_post(
    *,
    incident_id: int,
    state: str,
    text: str,
    engineer_id: int | None = None,
    via: str = "api",
) -> StatusUpdateResult:
    """Post a status update: the one place an update is recorded.

    It goes on the timeline, to the service's stakeholders (people: a notice through
    the start of their low-urgency ladder; Slack channels: a post) and, when the
    incident is public, on the status page. Works on resolved incidents too (a closing
    update after the fix).
    """
    _choice(state, StatusUpdate.State, "state")
    text = _text(text, "text", MAX_UPDATE_TEXT)
    with transaction.atomic():
        incident = _incident_locked(incident_id)
        now = timezone.now()
        public = IncidentPublication.objects.filter(incident=incident).exists()
        update = StatusUpdate.objects.create(
            incident=incident,
            state=state,
            text=text,
            public=public,
            at=now,
            actor_id=engineer_id,
            via=via,
        )
        notified = _stakeholders_notify(incident, update)
        event_record(
            incident_id=incident.pk,
            kind=IncidentEvent.Kind.STATUS_UPDATE,
            at=now,
            actor_id=engineer_id,
            via=via,
            text=f"{update.get_state_display()}: {text}"
            + (" (on the status page)" if public else "")
            + f" — {notified.text()}",
            data={"update": update.pk, "state": state, "public": public},
        )
        audit_record(
            "status_update",
            incident,
            changes={"status_update": (None, f"{state}: {text}")},
            engineer_id=engineer_id,
            note=via,
        )
        webhook_event_emit(
            incident,
            "status_update",
            {"id": update.pk, "state": state, "text": text, "public": public},
            actor_id=engineer_id,
            via=via,
            occurred_at=now,
        )
    return StatusUpdateResult(update=update, notified=notified)


# --- the status page -------------------------------------------------------------------


@dataclass(frozen=True)
class PublishResult:
    publication: IncidentPublication
    changed: bool


def incident_publish(
    *,
    incident_id: int,
    public_title: str,
    engineer_id: int | None = None,
    via: str = "api",
) -> PublishResult:
    """Mark the incident public under ``public_title`` (or change that title): it then
    appears on the status page, with the status updates posted from now on."""
    public_title = _text(public_title, "public_title", MAX_PUBLIC_TITLE)
    with transaction.atomic():
        incident = _incident_locked(incident_id)
        now = timezone.now()
        current = IncidentPublication.objects.filter(incident=incident).first()
        if current is not None and current.public_title == public_title:
            return PublishResult(publication=current, changed=False)
        if current is None:
            publication = IncidentPublication.objects.create(
                incident=incident,
                public_title=public_title,
                published_at=now,
                published_by_id=engineer_id,
                via=via,
            )
            text = f"marked public as {public_title!r}"
            was = None
        else:
            was = current.public_title
            current.public_title = public_title
            current.save(update_fields=["public_title"])
            publication = current
            text = f"public title {was!r} -> {public_title!r}"
        event_record(
            incident_id=incident.pk,
            kind=IncidentEvent.Kind.PUBLISHED,
            at=now,
            actor_id=engineer_id,
            via=via,
            text=text,
            data={"public_title": public_title},
        )
        audit_record(
            "publish",
            incident,
            changes={"public_title": (was, public_title)},
            engineer_id=engineer_id,
            note=via,
        )
    return PublishResult(publication=publication, changed=True)


# --- action items ----------------------------------------------------------------------


def action_item_create(
    *,
    incident_id: int,
    title: str,
    owner_id: int | None = None,
    due_date: date | None = None,
    engineer_id: int | None = None,
    via: str = "api",
) -> ActionItem:
    title = _text(title, "title", 500)
    with transaction.atomic():
        incident = _incident_locked(incident_id)
        owner = _engineer(owner_id, "owner")
        item = ActionItem.objects.create(
            incident=incident,
            title=title,
            owner=owner,
            due_date=due_date,
            created_at=timezone.now(),
            created_by_id=engineer_id,
        )
        due = f", due {due_date:%Y-%m-%d}" if due_date else ""
        event_record(
            incident_id=incident.pk,
            kind=IncidentEvent.Kind.ACTION_ITEM,
            actor_id=engineer_id,
            via=via,
            text=f"action item added: {title}"
            + (f" (owner {owner.display_name}{due})" if owner else due),
            data={"action_item": item.pk},
        )
        audit_record("create", item, engineer_id=engineer_id, note=via)
    return item


UNSET = object()


def action_item_update(
    *,
    item_id: int,
    title: str | object = UNSET,
    owner_id: int | None | object = UNSET,
    due_date: date | None | object = UNSET,
    done: bool | object = UNSET,
    engineer_id: int | None = None,
    via: str = "api",
) -> ActionItem:
    """Change an action item; fields left UNSET stay. Marking it done (or open again)
    writes a timeline line on its incident."""
    with transaction.atomic():
        item = ActionItem.objects.select_for_update().filter(pk=item_id).first()
        if item is None:
            raise ValidationError({"action_item": f"there is no action item {item_id}"})
        before = audit_snapshot(item)
        if title is not UNSET:
            item.title = _text(str(title), "title", 500)
        if owner_id is not UNSET:
            item.owner = _engineer(owner_id, "owner")  # type: ignore[arg-type]
        if due_date is not UNSET:
            item.due_date = due_date  # type: ignore[assignment]
        flipped = False
        if done is not UNSET and bool(done) != item.done:
            item.done_at = timezone.now() if done else None
            flipped = True
        item.save()
        if flipped:
            event_record(
                incident_id=item.incident_id,
                kind=IncidentEvent.Kind.ACTION_ITEM,
                actor_id=engineer_id,
                via=via,
                text=f"action item {'done' if item.done else 'reopened'}: {item.title}",
                data={"action_item": item.pk, "done": item.done},
            )
        audit_record("update", item, before=before, engineer_id=engineer_id, note=via)
    return item


# --- configuration: stakeholders and status page groups ---------------------------------


def slack_channel_check(channel: str) -> str:
    channel = (channel or "").strip()
    if not SLACK_CHANNEL_ID.match(channel):
        raise ValidationError(
            {"slack_channel": f"{channel!r} is not a Slack channel id (like C0123ABCD)"}
        )
    return channel


def stakeholder_subscription_create(
    *, service: Service, engineer: Engineer | None = None, slack_channel: str = ""
) -> StakeholderSubscription:
    """Subscribe a person or a Slack channel (exactly one) to the service's updates."""
    if (engineer is None) == (not slack_channel):
        raise ValidationError({"engineer": "give either an engineer or a Slack channel"})
    if slack_channel:
        slack_channel = slack_channel_check(slack_channel)
    with transaction.atomic():
        existing = StakeholderSubscription.objects.filter(
            service=service, engineer=engineer, slack_channel=slack_channel
        ).first()
        if existing is not None:
            return existing
        return audited_save(
            StakeholderSubscription(service=service, engineer=engineer, slack_channel=slack_channel)
        )


def stakeholder_subscription_delete(*, subscription: StakeholderSubscription) -> None:
    with transaction.atomic():
        audited_delete(subscription)


def status_group_save(
    *,
    group: StatusPageGroup | None,
    name: str,
    description: str = "",
    position: int = 0,
    services: list[Service] | None = None,
) -> StatusPageGroup:
    """Create or change a status page group (its public name, order and services)."""
    name = _text(name, "name", 100)
    if len(description) > 300:
        raise ValidationError({"description": "longer than 300 characters"})
    if position < 0:
        raise ValidationError({"position": "must be 0 or more"})
    with transaction.atomic():
        clash = StatusPageGroup.objects.filter(name=name)
        if group is not None:
            clash = clash.exclude(pk=group.pk)
        if clash.exists():
            raise ValidationError({"name": f"a status page group {name!r} exists"})
        group = audited_save(
            group or StatusPageGroup(),
            {"name": name, "description": description, "position": position},
        )
        if services is not None:
            old = sorted(group.services.values_list("name", flat=True))
            new = sorted(s.name for s in services)
            if old != new:
                group.services.set(services)
                audit_record("update", group, changes={"services": (old, new)})
    return group


def status_group_delete(*, group: StatusPageGroup) -> None:
    with transaction.atomic():
        audited_delete(group)
