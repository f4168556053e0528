"""The people sections of the config file: ``teams`` (order 10) and ``engineers`` (order 20).

Identity keys: a team by its ``slug``; an engineer by ``username`` (a Django user, created
when missing, never given a password from the file); a contact method by (kind, value);
a notification rule by (contact, urgency), so editing its ``delay_minutes`` updates it.
Where the file gives several rules for the same contact and urgency (a call at 5 and
again at 15 minutes), they are told apart by their delay: equal delays match, and the
rest are paired in delay order, so changing one of them updates it too. A rule names its
contact method by the method's ``label`` or as ``kind:value`` (``sms:+15550100``).

The verified state of a contact method is not in the file: it is kept while the method's
kind and value stay the same (a changed number is a new method and must be verified again).

Every write goes through the people services (``oncall.people.services``), the same path
as the API and the admin: the same validation, normalisation (``+1 (415) 555-0101`` is
stored as ``+14155550101``, and matches that method on the next apply) and audit entries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models

from oncall.channel_registry import contact_kinds
from oncall.config.fields import (
    Field,
    describe_diff,
    diff,
    read_choice,
    read_list,
    read_mapping,
    service_call,
)
from oncall.config.registry import ApplyContext, ConfigSection, register_section
from oncall.people import services
from oncall.people.models import (
    ContactMethod,
    Engineer,
    NotificationRule,
    Team,
    TeamMembership,
    Urgency,
)

TEAM_FIELDS = {
    "slug": Field(str, required=True),
    "name": Field(str, required=True),
    "description": Field(str, default=""),
}
ENGINEER_FIELDS = {
    "username": Field(str, required=True),
    "display_name": Field(str, required=True),
    "email": Field(str, default=""),
    "time_zone": Field(str, default="UTC"),
    "teams": Field(list, default=list),
    "contact_methods": Field(list, default=list),
    "notification_rules": Field(list, default=list),
}
MEMBERSHIP_FIELDS = {
    "team": Field(str, required=True),
    "role": Field(str, default=TeamMembership.Role.MEMBER.value),
}
CONTACT_FIELDS = {
    "kind": Field(str, required=True),
    "value": Field(str, required=True),
    "label": Field(str, default=""),
}
RULE_FIELDS = {
    "contact": Field(str, required=True),
    "delay_minutes": Field(int, default=0),
    "urgency": Field(str, default=Urgency.HIGH.value),
}


def _items(ctx: ApplyContext, value: Any, path: str) -> list[Any]:
    # `teams:` with nothing under it means "no teams", not an error.
    return [] if value is None else read_list(ctx, value, path)


def _not_in_file(
    ctx: ApplyContext, path: str, obj: models.Model, delete: Callable[[], object], detail: str = ""
) -> None:
    """Report ``obj`` as missing from the file, or delete it (``delete``) with --prune."""

    def prune() -> None:
        try:
            delete()
        except models.ProtectedError as exc:
            users = ", ".join(sorted({str(o) for o in exc.protected_objects})[:5])
            ctx.fail(path, f"--prune cannot delete {obj}: still used by {users}")

    ctx.not_in_file(path, prune, detail)


# --- teams -------------------------------------------------------------------------------


def teams_apply(value: Any, ctx: ApplyContext) -> None:
    declared = ctx.declared.setdefault("teams", {})
    names: dict[str, str] = {}
    for i, raw in enumerate(_items(ctx, value, "teams")):
        path = f"teams[{i}]"
        data = read_mapping(ctx, raw, path, TEAM_FIELDS)
        slug = data["slug"]
        ctx.declare("teams", slug, f"{path}.slug")
        if data["name"] in names:
            ctx.fail(
                f"{path}.name",
                f"duplicate: {data['name']!r} is already used at {names[data['name']]}",
            )
        names[data["name"]] = path
        wanted = {"name": data["name"].strip(), "description": data["description"]}
        team = Team.objects.filter(slug=slug).first()
        if team is None:
            service_call(ctx, path, lambda s=slug, w=wanted: services.team_create(slug=s, **w))
            ctx.record("create", f"teams[{slug}]", f"name={data['name']!r}")
            continue
        changes = diff(team, wanted)
        if changes:
            service_call(ctx, path, lambda t=team, w=wanted: services.team_update(team=t, **w))
            ctx.record("update", f"teams[{slug}]", describe_diff(changes))
    for team in Team.objects.exclude(slug__in=list(declared)).order_by("slug"):
        _not_in_file(ctx, f"teams[{team.slug}]", team, lambda t=team: services.team_delete(team=t))


def teams_export() -> list[dict[str, Any]]:
    out = []
    for team in Team.objects.order_by("slug"):
        item: dict[str, Any] = {"slug": team.slug, "name": team.name}
        if team.description:
            item["description"] = team.description
        out.append(item)
    return out


# --- engineers ---------------------------------------------------------------------------


def engineers_apply(value: Any, ctx: ApplyContext) -> None:
    declared = ctx.declared.setdefault("engineers", {})
    for i, raw in enumerate(_items(ctx, value, "engineers")):
        path = f"engineers[{i}]"
        data = read_mapping(ctx, raw, path, ENGINEER_FIELDS)
        ctx.declare("engineers", data["username"], f"{path}.username")
        engineer = _engineer_upsert(ctx, data, path)
        where = f"engineers[{data['username']}]"
        _memberships_apply(ctx, engineer, data["teams"], path, where)
        contacts = _contacts_apply(ctx, engineer, data["contact_methods"], path, where)
        _rules_apply(ctx, engineer, contacts, data["notification_rules"], path, where)
        _contacts_not_in_file(ctx, engineer, contacts, where)

    user_field = get_user_model().USERNAME_FIELD
    missing = Engineer.objects.exclude(**{f"user__{user_field}__in": list(declared)})
    for engineer in missing.select_related("user").order_by(f"user__{user_field}"):
        kept = "engineer removed; the Django user account is kept" if ctx.prune else ""
        _not_in_file(
            ctx,
            f"engineers[{engineer.username}]",
            engineer,
            lambda e=engineer: services.engineer_delete(engineer=e),
            kept,
        )


# Service fields named differently in the file.
_ENGINEER_PATHS = {get_user_model().USERNAME_FIELD: "username"}


def _engineer_upsert(ctx: ApplyContext, data: dict[str, Any], path: str) -> Engineer:
    user_model = get_user_model()
    username = data["username"]
    wanted = {
        "display_name": data["display_name"].strip(),
        "time_zone": data["time_zone"].strip(),
    }
    email = data["email"].strip()
    where = f"engineers[{username}]"
    user = user_model.objects.filter(**{user_model.USERNAME_FIELD: username}).first()
    engineer = Engineer.objects.filter(user=user).first() if user is not None else None
    if engineer is None:
        if user is None:  # a new user, with an unusable password (never one from the file)
            engineer = service_call(
                ctx,
                path,
                lambda: services.engineer_create(username=username, email=email, **wanted),
                _ENGINEER_PATHS,
            )
        else:  # a Django user that exists already becomes an engineer
            engineer = service_call(
                ctx, path, lambda: services.engineer_profile_ensure(user=user, **wanted)
            )
            if user.email != email:
                service_call(
                    ctx, path, lambda: services.engineer_update(engineer=engineer, email=email)
                )
        detail = f"display_name={data['display_name']!r}, time_zone={data['time_zone']!r}"
        ctx.record("create", where, detail)
        return engineer
    changes = diff(user, {"email": email}) | diff(engineer, wanted)
    if changes:
        service_call(
            ctx,
            path,
            lambda: services.engineer_update(engineer=engineer, email=email, **wanted),
            _ENGINEER_PATHS,
        )
        ctx.record("update", where, describe_diff(changes))
    return engineer


def _team_exists(ctx: ApplyContext, slug: str) -> bool:
    declared = ctx.is_declared("teams", slug)
    if declared is None:  # the file has no teams section: teams are managed elsewhere
        return Team.objects.filter(slug=slug).exists()
    return declared


def _memberships_apply(
    ctx: ApplyContext, engineer: Engineer, raw: list[Any], path: str, where: str
) -> None:
    existing = {m.team.slug: m for m in engineer.memberships.select_related("team")}
    seen: dict[str, str] = {}
    for j, item in enumerate(raw):
        item_path = f"{path}.teams[{j}]"
        data = read_mapping(ctx, item, item_path, MEMBERSHIP_FIELDS)
        slug = data["team"]
        if not _team_exists(ctx, slug):
            ctx.fail(f"{item_path}.team", f"team {slug!r} is not defined under teams")
        if slug in seen:
            ctx.fail(f"{item_path}.team", f"duplicate: {slug!r} is already listed at {seen[slug]}")
        seen[slug] = item_path
        role = read_choice(ctx, data["role"], f"{item_path}.role", TeamMembership.Role.values)
        membership = existing.get(slug)
        if membership is None or membership.role != role:
            service_call(
                ctx,
                item_path,
                lambda s=slug, r=role: services.team_membership_set(
                    team=Team.objects.get(slug=s), engineer=engineer, role=r
                ),
            )
            if membership is None:
                ctx.record("create", f"{where}.teams[{slug}]", f"role={role!r}")
            else:
                changes = diff(membership, {"role": role})
                ctx.record("update", f"{where}.teams[{slug}]", describe_diff(changes))
    for slug, membership in sorted(existing.items()):
        if slug not in seen:
            _not_in_file(
                ctx,
                f"{where}.teams[{slug}]",
                membership,
                lambda m=membership: services.team_membership_remove(
                    team=m.team, engineer=m.engineer
                ),
            )


def _contacts_apply(
    ctx: ApplyContext, engineer: Engineer, raw: list[Any], path: str, where: str
) -> dict[tuple[str, str], ContactMethod]:
    """Create/update the file's contact methods; return them by (kind, normalised value)."""
    existing: dict[tuple[str, str], ContactMethod] = {}
    for c in engineer.contact_methods.all():
        existing[(c.kind, c.value)] = c
        if c.slack_email:  # a Slack method the file names by the address it was found by
            existing.setdefault((c.kind, c.slack_email), c)
    wanted: dict[tuple[str, str], ContactMethod] = {}
    seen: dict[tuple[str, str], str] = {}
    for j, item in enumerate(raw):
        item_path = f"{path}.contact_methods[{j}]"
        data = read_mapping(ctx, item, item_path, CONTACT_FIELDS)
        kind = read_choice(ctx, data["kind"], f"{item_path}.kind", contact_kinds())
        # The value as the API stores it, so the same number matches however it is typed.
        value = services.contact_value_normalize(kind=kind, value=data["value"])
        key = (kind, value)
        if key in seen:
            ctx.fail(f"{item_path}.value", f"duplicate: {kind} {value!r} is already at {seen[key]}")
        seen[key] = item_path
        label = data["label"].strip()
        contact = existing.get(key)
        cm_where = f"{where}.contact_methods[{kind}:{value}]"
        if contact is None:
            contact = service_call(
                ctx,
                item_path,
                lambda k=kind, v=value, la=label: services.contact_method_create(
                    engineer=engineer, kind=k, value=v, label=la, slack_lookup=False
                ),
            )
            ctx.record("create", cm_where, f"label={label!r}" if label else "")
        elif contact.label != label:
            ctx.record("update", cm_where, describe_diff(diff(contact, {"label": label})))
            service_call(
                ctx,
                item_path,
                lambda c=contact, la=label: services.contact_method_update(
                    contact_method=c, label=la
                ),
            )
        wanted[key] = contact
    return wanted


def _contacts_not_in_file(
    ctx: ApplyContext,
    engineer: Engineer,
    wanted: dict[tuple[str, str], ContactMethod],
    where: str,
) -> None:
    keep = {c.pk for c in wanted.values()}
    for contact in engineer.contact_methods.order_by("kind", "value"):
        if contact.pk not in keep:
            _not_in_file(
                ctx,
                f"{where}.contact_methods[{contact.kind}:{contact.value}]",
                contact,
                lambda c=contact: services.contact_method_delete(contact_method=c),
            )


def _resolve_contact(
    ctx: ApplyContext,
    ref: str,
    contacts: dict[tuple[str, str], ContactMethod],
    path: str,
) -> ContactMethod:
    kind, sep, value = ref.partition(":")
    if sep and kind in contact_kinds():
        value = services.contact_value_normalize(kind=kind, value=value)
        if (kind, value) in contacts:
            return contacts[(kind, value)]
        for c in contacts.values():  # a Slack method named by the member id it resolved to
            if (c.kind, c.value) == (kind, value):
                return c
    labelled = list({c.pk: c for c in contacts.values() if c.label == ref}.values())
    if len(labelled) == 1:
        return labelled[0]
    if labelled:
        ctx.fail(path, f"label {ref!r} is used by several contact methods; write kind:value")
    ctx.fail(
        path,
        f"no contact method {ref!r} under this engineer's contact_methods"
        " (name one by its label or as kind:value, such as sms:+15550100)",
    )


def _rule_where(where: str, rule: NotificationRule) -> str:
    contact = rule.contact_method
    return (
        f"{where}.notification_rules[{contact.kind}:{contact.value}"
        f" +{rule.delay_minutes}min {rule.urgency}]"
    )


_RULE_PATHS = {"contact_method": "contact"}


def _rules_apply(
    ctx: ApplyContext,
    engineer: Engineer,
    contacts: dict[tuple[str, str], ContactMethod],
    raw: list[Any],
    path: str,
    where: str,
) -> None:
    # The file's rules and the database's, grouped by identity (contact, urgency).
    wanted: dict[tuple[int, str], dict[int, tuple[ContactMethod, str]]] = {}
    seen: dict[tuple[int, int, str], str] = {}
    for j, item in enumerate(raw):
        item_path = f"{path}.notification_rules[{j}]"
        data = read_mapping(ctx, item, item_path, RULE_FIELDS)
        contact = _resolve_contact(ctx, data["contact"], contacts, f"{item_path}.contact")
        delay = data["delay_minutes"]
        if delay < 0:
            ctx.fail(f"{item_path}.delay_minutes", f"must be 0 or more, got {delay}")
        urgency = read_choice(ctx, data["urgency"], f"{item_path}.urgency", Urgency.values)
        key = (contact.pk, delay, urgency)
        if key in seen:
            ctx.fail(item_path, f"duplicate: the same rule is already at {seen[key]}")
        seen[key] = item_path
        wanted.setdefault((contact.pk, urgency), {})[delay] = (contact, item_path)
    existing: dict[tuple[int, str], dict[int, NotificationRule]] = {}
    for rule in engineer.notification_rules.select_related("contact_method"):
        existing.setdefault((rule.contact_method_id, rule.urgency), {})[rule.delay_minutes] = rule
    leftover: list[NotificationRule] = []
    for identity, delays in wanted.items():
        have = existing.pop(identity, {})
        # Equal delays are the same rule; the others pair up in delay order (an edited
        # delay), and what remains is new in the file or missing from it.
        new = sorted(d for d in delays if d not in have)
        old = sorted(d for d in have if d not in delays)
        for delay, was in zip(new, old, strict=False):
            rule, item_path = have[was], delays[delay][1]
            before = _rule_where(where, rule)
            service_call(
                ctx,
                item_path,
                lambda r=rule, d=delay: services.notification_rule_update(rule=r, delay_minutes=d),
                _RULE_PATHS,
            )
            ctx.record("update", before, f"delay_minutes {was} -> {delay}")
        for delay in new[len(old) :]:
            contact, item_path = delays[delay]
            rule = service_call(
                ctx,
                item_path,
                lambda c=contact, d=delay, u=identity[1]: services.notification_rule_create(
                    engineer=engineer, contact_method=c, delay_minutes=d, urgency=u
                ),
                _RULE_PATHS,
            )
            ctx.record("create", _rule_where(where, rule))
        leftover += [have[d] for d in old[len(new) :]]
    leftover += [rule for delays in existing.values() for rule in delays.values()]
    for rule in sorted(leftover, key=_rule_sort_key):
        _not_in_file(
            ctx,
            _rule_where(where, rule),
            rule,
            lambda r=rule: services.notification_rule_delete(rule=r),
        )


def _rule_sort_key(rule: NotificationRule) -> tuple[str, int, str, str]:
    contact = rule.contact_method
    return (rule.urgency, rule.delay_minutes, contact.kind, contact.value)


def _contact_ref(contact: ContactMethod, contacts: list[ContactMethod]) -> str:
    """The readable name a rule uses for its contact method: its label if unambiguous."""
    label = contact.label
    if label and ":" not in label and sum(c.label == label for c in contacts) == 1:
        return label
    return f"{contact.kind}:{contact.value}"


def engineers_export() -> list[dict[str, Any]]:
    user_field = get_user_model().USERNAME_FIELD
    engineers = (
        Engineer.objects.select_related("user")
        .prefetch_related(
            "memberships__team", "contact_methods", "notification_rules__contact_method"
        )
        .order_by(f"user__{user_field}")
    )
    out = []
    for engineer in engineers:
        item: dict[str, Any] = {
            "username": engineer.username,
            "display_name": engineer.display_name,
        }
        if engineer.user.email:
            item["email"] = engineer.user.email
        item["time_zone"] = engineer.time_zone
        memberships = sorted(engineer.memberships.all(), key=lambda m: m.team.slug)
        if memberships:
            item["teams"] = [{"team": m.team.slug, "role": m.role} for m in memberships]
        contacts = sorted(engineer.contact_methods.all(), key=lambda c: (c.kind, c.value))
        if contacts:
            item["contact_methods"] = [
                {"kind": c.kind, "value": c.value} | ({"label": c.label} if c.label else {})
                for c in contacts
            ]
        rules = sorted(engineer.notification_rules.all(), key=_rule_sort_key)
        if rules:
            item["notification_rules"] = [
                {
                    "contact": _contact_ref(r.contact_method, contacts),
                    "delay_minutes": r.delay_minutes,
                    "urgency": r.urgency,
                }
                for r in rules
            ]
        out.append(item)
    return out


register_section(ConfigSection(key="teams", order=10, apply=teams_apply, export=teams_export))
register_section(
    ConfigSection(key="engineers", order=20, apply=engineers_apply, export=engineers_export)
)
