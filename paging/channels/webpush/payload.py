"""What a push notification says: the JSON the service worker (``static/webpush/sw-1.js``)
shows, encrypted to the subscription by the transport.

A page names its incident and carries its signed acknowledge link (the SMS's,
``paging/channels/links/``): the notification's **Acknowledge** action opens it. Its
``tag`` is the incident's, so a second page about it (a retry, the next loop) replaces
the notification on the device instead of stacking another.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

from django.conf import settings
from django.urls import reverse

from paging.channels.links.tokens import link_url
from paging.channels.page_incidents import incident_view, is_page, message_incidents
from paging.channels.rendering import TemplateSet
from paging.models import Message

TEMPLATES = TemplateSet(Path(__file__).parent)
# A push message carries at most 4096 bytes, encryption included (RFC 8291): the text
# is cut well below it (titles and bodies of incidents can be long).
TITLE_CHARS = 120
BODY_CHARS = 800


class Payload(TypedDict):
    title: str
    body: str
    tag: str
    url: str  # opened by a tap on the notification
    ack_url: str  # opened by its Acknowledge action ("" = no such action)
    renotify: bool  # buzz again when it replaces a notification with the same tag
    require_interaction: bool  # stays until dismissed (desktop browsers)


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _site(path: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def webpush_payload(message: Message) -> Payload:
    incidents = message_incidents(message) if is_page(message) else []
    if len(incidents) == 1:
        view = incident_view(incidents[0])
        ack = link_url(
            incident_id=view.id, engineer_id=message.engineer_id or 0, action="acknowledge"
        )
        title = message.subject or f"#{view.id} {view.title}"
        body = TEMPLATES.text("delivery/webpush/page.txt", {"view": view}, one_line=True)
        tag, url, urgent = f"incident-{view.id}", ack, True
    elif incidents:
        items = [incident_view(incident) for incident in incidents]
        title = message.subject or f"{len(items)} open incidents"
        body = TEMPLATES.text("delivery/webpush/bundle.txt", {"items": items}, one_line=True)
        tag, url, ack, urgent = f"bundle-{message.pk}", _site(reverse("me:home")), "", True
    else:
        # Verification codes, test pages, swap notices, reminders: their text as it is.
        title = message.subject or "On-call"
        body = message.body
        tag, url, ack, urgent = f"message-{message.pk}", _site(reverse("me:contact")), "", False
    return Payload(
        title=_cut(title, TITLE_CHARS),
        body=_cut(body, BODY_CHARS),
        tag=tag,
        url=url,
        ack_url=ack,
        renotify=urgent,
        require_interaction=urgent,
    )
