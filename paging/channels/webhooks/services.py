"""Writing outgoing webhooks (API, admin, config file): checked, then saved on the audit
trail (the secret masked there, as every secret)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from oncall.audit.services import audited_delete, audited_save
from paging.channels.webhooks.models import EVENTS, WebhookEndpoint
from paging.models import Service

SECRET_MIN_LENGTH = 16
FIELDS = ("name", "service", "url", "secret", "enabled", "events")
_url_valid = URLValidator(schemes=["http", "https"])


def webhook_endpoint_problems(values: dict[str, Any]) -> dict[str, str]:
    """What is wrong with a webhook's values ({field: problem}; empty: nothing)."""
    problems: dict[str, str] = {}
    name = values.get("name")
    if not isinstance(name, str) or not name.strip():
        problems["name"] = "a webhook needs a name"
    elif len(name) > 100:
        problems["name"] = "at most 100 characters"
    service = values.get("service")
    if service is not None and not isinstance(service, Service):
        problems["service"] = "not a service"
    url = values.get("url")
    if not isinstance(url, str) or not url:
        problems["url"] = "a webhook needs a URL"
    elif len(url) > 1024:
        problems["url"] = "at most 1024 characters"
    else:
        try:
            _url_valid(url)
        except ValidationError:
            problems["url"] = f"{url!r} is not an http:// or https:// URL"
    secret = values.get("secret")
    if not isinstance(secret, str) or len(secret) < SECRET_MIN_LENGTH:
        problems["secret"] = f"the signing secret must be at least {SECRET_MIN_LENGTH} characters"
    elif len(secret) > 255:
        problems["secret"] = "at most 255 characters"  # noqa: S105 - a message
    if not isinstance(values.get("enabled"), bool):
        problems["enabled"] = "must be true or false"
    events = values.get("events")
    if not isinstance(events, list | tuple):
        problems["events"] = f"a list of events ({', '.join(EVENTS)}); empty: all"
    else:
        unknown = [e for e in events if e not in EVENTS]
        if unknown:
            problems["events"] = (
                f"unknown event {unknown[0]!r}: one of {', '.join(EVENTS)} (empty: all)"
            )
        elif len(set(events)) != len(events):
            problems["events"] = "an event is listed twice"
    return problems


def webhook_endpoint_save(
    *, endpoint: WebhookEndpoint | None, fields: dict[str, Any]
) -> WebhookEndpoint:
    """Create or change a webhook; a field not given keeps its value (a new one: enabled,
    every event). Raises ``ValidationError`` ({field: problem}) and saves nothing when a
    value is wrong."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValidationError({name: "not a webhook field" for name in sorted(unknown)})
    current: dict[str, Any] = (
        {
            "name": endpoint.name,
            "service": endpoint.service,
            "url": endpoint.url,
            "secret": endpoint.secret,
            "enabled": endpoint.enabled,
            "events": list(endpoint.events),
        }
        if endpoint is not None
        else {
            "name": None,
            "service": None,
            "url": None,
            "secret": None,
            "enabled": True,
            "events": [],
        }
    )
    values = {**current, **fields}
    if isinstance(values["name"], str):
        values["name"] = values["name"].strip()
    problems = webhook_endpoint_problems(values)
    with transaction.atomic():
        name_taken = (
            WebhookEndpoint.objects.filter(name=values["name"])
            .exclude(pk=endpoint.pk if endpoint is not None else None)
            .exists()
        )
        if "name" not in problems and name_taken:
            problems["name"] = f"a webhook named {values['name']!r} exists already"
        if problems:
            raise ValidationError(problems)
        values["events"] = [e for e in EVENTS if e in values["events"]]  # one order
        if endpoint is None or (values["enabled"] and not endpoint.enabled):
            values["enabled_at"] = timezone.now()
        return audited_save(endpoint or WebhookEndpoint(), values)


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Delete a webhook: events still queued for it are not sent (their rows fail,
    "the webhook was deleted")."""
    with transaction.atomic():
        audited_delete(endpoint)
