"""Config file: the ``webhooks`` section (order 90, after ``services``).

```yaml
webhooks:
  - name: incident-bot            # identity
    service: Payments             # optional: omitted or null sends every service's incidents
    url: https://automation.example.com/oncall
    secret_env: INCIDENT_BOT_SECRET   # or secret: "…" (at least 16 characters)
    enabled: true                 # optional, default true
    events: [triggered, resolved] # optional, default [] = every event
```

The secret is required for a new webhook and kept when the file gives none (export
never writes it). Writes go through ``webhook_endpoint_save`` (checked and audited as
from the API); its refusals name the file path (``webhooks[0].url: …``).
"""

from __future__ import annotations

import os
from typing import Any

from oncall.config.fields import Field, read_list, read_mapping, service_call
from oncall.config.registry import ApplyContext, ConfigSection, register_section
from paging.channels.webhooks.models import WebhookEndpoint
from paging.channels.webhooks.services import webhook_endpoint_delete, webhook_endpoint_save
from paging.config_section import config_service
from paging.models import Service

FIELDS = {
    "name": Field(str, required=True),
    "service": Field(object, default=None),
    "url": Field(str, required=True),
    "secret": Field(str, default=None),
    "secret_env": Field(str, default=None),
    "enabled": Field(bool, default=True),
    "events": Field(list, default=list),
}


def _service(ctx: ApplyContext, name: Any, path: str) -> Service | None:
    if name is None:
        return None  # every service
    return config_service(ctx, name, path, expected="a service name, or null for every service")


def _secret(ctx: ApplyContext, data: dict[str, Any], path: str) -> str | None:
    if data["secret"] is not None and data["secret_env"] is not None:
        ctx.fail(f"{path}.secret_env", "give secret or secret_env, not both")
    if data["secret_env"] is not None:
        value = os.environ.get(data["secret_env"])
        if not value:
            ctx.fail(f"{path}.secret_env", f"environment variable {data['secret_env']} is not set")
        return value
    return data["secret"]


def webhooks_apply(value: Any, ctx: ApplyContext) -> None:
    ctx.declared.setdefault("webhooks", {})
    items = [] if value is None else read_list(ctx, value, "webhooks")
    for i, raw in enumerate(items):
        path = f"webhooks[{i}]"
        if isinstance(raw, dict) and isinstance(raw.get("service"), bool):
            ctx.fail(f"{path}.service", "expected a service name, or null for every service")
        data = read_mapping(ctx, raw, path, FIELDS)
        ctx.declare("webhooks", data["name"], f"{path}.name")
        for j, event in enumerate(data["events"]):
            if not isinstance(event, str):
                ctx.fail(f"{path}.events[{j}]", "expected an event name")
        wanted: dict[str, Any] = {
            "name": data["name"],
            "service": _service(ctx, data["service"], f"{path}.service"),
            "url": data["url"],
            "enabled": data["enabled"],
            "events": data["events"],
        }
        secret = _secret(ctx, data, path)
        field_paths = {"secret": "secret_env" if data["secret_env"] is not None else "secret"}
        endpoint = WebhookEndpoint.objects.filter(name=data["name"]).first()
        label = f"webhooks[{data['name']}]"
        if endpoint is None:
            if secret is None:
                ctx.fail(f"{path}.secret", "a new webhook needs a secret (or secret_env)")
            wanted["secret"] = secret
            service_call(
                ctx,
                path,
                lambda w=wanted: webhook_endpoint_save(endpoint=None, fields=w),
                field_paths,
            )
            ctx.record("create", label)
            continue
        if secret is not None:
            wanted["secret"] = secret
        changed = [
            name
            for name, new in wanted.items()
            if (getattr(endpoint, name) if name != "events" else sorted(endpoint.events))
            != (new if name != "events" else sorted(new))
        ]
        if changed:
            service_call(
                ctx,
                path,
                lambda e=endpoint, w=wanted: webhook_endpoint_save(endpoint=e, fields=w),
                field_paths,
            )
            ctx.record("update", label, ", ".join(changed))
    declared = set(ctx.declared["webhooks"])
    for endpoint in WebhookEndpoint.objects.exclude(name__in=declared).order_by("name"):
        ctx.not_in_file(
            f"webhooks[{endpoint.name}]", lambda e=endpoint: webhook_endpoint_delete(endpoint=e)
        )


def webhooks_export() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for endpoint in WebhookEndpoint.objects.select_related("service").order_by("name"):
        row: dict[str, Any] = {"name": endpoint.name}
        if endpoint.service is not None:
            row["service"] = endpoint.service.name
        row["url"] = endpoint.url
        if not endpoint.enabled:
            row["enabled"] = False
        if endpoint.events:
            row["events"] = list(endpoint.events)
        out.append(row)
    return out


register_section(
    ConfigSection(key="webhooks", order=100, apply=webhooks_apply, export=webhooks_export)
)
