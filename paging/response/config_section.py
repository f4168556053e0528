"""Config-file sections of incident response: ``status_page_groups`` (90) and
``stakeholder_subscriptions`` (95), written through ``paging.response.services``.

```yaml
status_page_groups:              # identity: name (public: the status page shows it)
  - name: Checkout
    description: Cart, payment and order confirmation
    position: 1
    services: [payments, api]
stakeholder_subscriptions:       # identity: service, then each engineer / channel
  - service: payments
    engineers: [priya]           # told through the start of their low-urgency ladder
    slack_channels: [C0PAYSTAKE] # channel ids
```
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from oncall.config.fields import Field, describe_diff, read_list, read_mapping, service_call
from oncall.config.registry import ApplyContext, ConfigSection, register_section
from paging.config_section import config_engineer, config_service
from paging.response.models import StakeholderSubscription, StatusPageGroup
from paging.response.services import (
    stakeholder_subscription_create,
    stakeholder_subscription_delete,
    status_group_delete,
    status_group_save,
)

GROUP_FIELDS = {
    "name": Field(str, required=True),
    "description": Field(str, default=""),
    "position": Field(int, default=0),
    "services": Field(list, default=list),
}
SUBSCRIPTION_FIELDS = {
    "service": Field(str, required=True),
    "engineers": Field(list, default=list),
    "slack_channels": Field(list, default=list),
}


def status_groups_apply(value: Any, ctx: ApplyContext) -> None:
    ctx.declared.setdefault("status_page_groups", {})
    for i, raw in enumerate(read_list(ctx, value or [], "status_page_groups")):
        path = f"status_page_groups[{i}]"
        data = read_mapping(ctx, raw, path, GROUP_FIELDS)
        ctx.declare("status_page_groups", data["name"], f"{path}.name")
        services = [
            config_service(ctx, name, f"{path}.services[{j}]")
            for j, name in enumerate(data["services"])
        ]
        group = StatusPageGroup.objects.filter(name=data["name"]).first()
        where = f"status_page_groups[{data['name']}]"
        wanted_services = sorted(s.name for s in services)
        if group is None:
            service_call(
                ctx,
                path,
                lambda d=data, s=services: status_group_save(
                    group=None,
                    name=d["name"],
                    description=d["description"],
                    position=d["position"],
                    services=s,
                ),
            )
            ctx.record("create", where)
            continue
        changes = {
            name: (getattr(group, name), data[name])
            for name in ("description", "position")
            if getattr(group, name) != data[name]
        }
        have = sorted(group.services.values_list("name", flat=True))
        if have != wanted_services:
            changes["services"] = (have, wanted_services)
        if changes:
            service_call(
                ctx,
                path,
                lambda g=group, d=data, s=services: status_group_save(
                    group=g,
                    name=d["name"],
                    description=d["description"],
                    position=d["position"],
                    services=s,
                ),
            )
            ctx.record("update", where, describe_diff(changes))
    for group in StatusPageGroup.objects.exclude(name__in=list(ctx.declared["status_page_groups"])):
        ctx.not_in_file(
            f"status_page_groups[{group.name}]", lambda g=group: status_group_delete(group=g)
        )


def status_groups_export() -> list[dict[str, Any]]:
    out = []
    for group in StatusPageGroup.objects.prefetch_related("services").order_by("name"):
        row: dict[str, Any] = {"name": group.name}
        if group.description:
            row["description"] = group.description
        if group.position:
            row["position"] = group.position
        names = sorted(s.name for s in group.services.all())
        if names:
            row["services"] = names
        out.append(row)
    return out


def _subscription_label(sub: StakeholderSubscription) -> str:
    return (
        f"slack:{sub.slack_channel}"
        if sub.slack_channel
        else f"engineer:{sub.engineer.username if sub.engineer else ''}"
    )


def subscriptions_apply(value: Any, ctx: ApplyContext) -> None:
    ctx.declared.setdefault("stakeholder_subscriptions", {})
    kept: set[int] = set()
    for i, raw in enumerate(read_list(ctx, value or [], "stakeholder_subscriptions")):
        path = f"stakeholder_subscriptions[{i}]"
        data = read_mapping(ctx, raw, path, SUBSCRIPTION_FIELDS)
        ctx.declare("stakeholder_subscriptions", data["service"], f"{path}.service")
        service = config_service(ctx, data["service"], f"{path}.service")
        wanted: list[tuple[str, Any, str]] = []
        for j, username in enumerate(data["engineers"]):
            if not isinstance(username, str):
                ctx.fail(f"{path}.engineers[{j}]", "expected a username")
            engineer = config_engineer(ctx, username, f"{path}.engineers[{j}]")
            wanted.append((f"{path}.engineers[{j}]", engineer, ""))
        for j, channel in enumerate(data["slack_channels"]):
            if not isinstance(channel, str):
                ctx.fail(f"{path}.slack_channels[{j}]", "expected a Slack channel id")
            wanted.append((f"{path}.slack_channels[{j}]", None, channel.strip()))
        for where, engineer, channel in wanted:
            existing = StakeholderSubscription.objects.filter(
                service=service, engineer=engineer, slack_channel=channel
            ).first()
            if existing is None:
                try:
                    existing = stakeholder_subscription_create(
                        service=service, engineer=engineer, slack_channel=channel
                    )
                except ValidationError as exc:  # the entry itself is the field
                    ctx.fail(where, "; ".join(exc.messages))
                ctx.record(
                    "create",
                    f"stakeholder_subscriptions[{service.name}][{_subscription_label(existing)}]",
                )
            kept.add(existing.pk)
    for sub in (
        StakeholderSubscription.objects.exclude(pk__in=kept)
        .select_related("service", "engineer__user")
        .order_by("service__name", "id")
    ):
        ctx.not_in_file(
            f"stakeholder_subscriptions[{sub.service.name}][{_subscription_label(sub)}]",
            lambda s=sub: stakeholder_subscription_delete(subscription=s),
        )


def subscriptions_export() -> list[dict[str, Any]]:
    by_service: dict[str, dict[str, list[str]]] = {}
    for sub in StakeholderSubscription.objects.select_related("service", "engineer__user"):
        row = by_service.setdefault(sub.service.name, {"engineers": [], "slack_channels": []})
        if sub.slack_channel:
            row["slack_channels"].append(sub.slack_channel)
        else:
            row["engineers"].append(sub.engineer.username if sub.engineer else "")
    out = []
    for name in sorted(by_service):
        row = by_service[name]
        entry: dict[str, Any] = {"service": name}
        if row["engineers"]:
            entry["engineers"] = sorted(row["engineers"])
        if row["slack_channels"]:
            entry["slack_channels"] = sorted(row["slack_channels"])
        out.append(entry)
    return out


register_section(
    ConfigSection(
        key="status_page_groups", order=90, apply=status_groups_apply, export=status_groups_export
    )
)
register_section(
    ConfigSection(
        key="stakeholder_subscriptions",
        order=95,
        apply=subscriptions_apply,
        export=subscriptions_export,
    )
)
