"""Grafana Alerting's webhook contact point -> AlertEvents, like Alertmanager's.

Grafana posts Alertmanager's v4 shape (``alerts[]`` with ``status`` firing|resolved,
``labels``, ``annotations``, ``fingerprint``, ``startsAt``/``endsAt``; ``groupKey``) plus
its own fields: top level ``orgId``, ``title``, ``state``, ``message``; per alert
``values`` (refId -> number), ``valueString``, ``dashboardURL``, ``panelURL``,
``silenceURL``, ``imageURL``. So each alert triggers or resolves exactly as an
Alertmanager alert does (identity ``fingerprint@startsAt``, grouping by ``groupKey``),
and Grafana's extras are kept in the alert's details (the values that fired it) and
links (dashboard, panel, silence). Grafana retries 5xx and drops other 4xx, as
Alertmanager does.

``groupKey`` is optional here: older Grafana versions may omit it, and then the group is
named by ``receiver`` and ``groupLabels`` (hashed, stable).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from paging.alert_event import AlertEvent
from paging.inbound.alertmanager import alertmanager_parse
from paging.inbound.fields import InvalidPayload, read_object, read_str

GRAFANA_ALERT_EXTRAS = ("values", "valueString", "imageURL")
GRAFANA_MESSAGE_EXTRAS = ("orgId", "title", "state")


def _group_key(body: dict[str, Any]) -> str:
    receiver = body.get("receiver") if isinstance(body.get("receiver"), str) else ""
    labels = body.get("groupLabels") if isinstance(body.get("groupLabels"), dict) else {}
    canonical = json.dumps([receiver, labels], sort_keys=True, default=str)
    return "grafana:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def grafana_parse(body: dict[str, Any]) -> list[AlertEvent]:
    """Every alert of one Grafana webhook message as an AlertEvent, or InvalidPayload."""
    errors: list[str] = []
    read_str(body, "title", "title", errors)
    read_str(body, "state", "state", errors)
    read_str(body, "message", "message", errors)
    read_object(body, "groupLabels", "groupLabels", errors)
    org = body.get("orgId")
    if org is not None and (isinstance(org, bool) or not isinstance(org, int)):
        errors.append("'orgId' must be a whole number")
    if errors:
        raise InvalidPayload(errors)
    if body.get("groupKey") is None:
        body = {**body, "groupKey": _group_key(body)}
    events = alertmanager_parse(body)
    message = {name: body[name] for name in GRAFANA_MESSAGE_EXTRAS if body.get(name) is not None}
    enriched = []
    # alertmanager_parse returns one event per alert, in order (or raised).
    for event, alert in zip(events, body["alerts"], strict=True):
        extras = {name: alert[name] for name in GRAFANA_ALERT_EXTRAS if alert.get(name)}
        links = list(event.links)
        image = alert.get("imageURL")
        if isinstance(image, str) and image.strip():
            links.append({"href": image.strip(), "text": "Image"})
        details = {**event.details, **extras}
        if message:
            details["grafana"] = message
        enriched.append(dataclasses.replace(event, details=details, links=links))
    return enriched
