"""Writes to the people directory: engineers, teams, memberships, contact methods, rules.

Every function validates its input and raises ``django.core.exceptions.ValidationError``
with a dict keyed by field name (``{"value": ["…"]}``), so that the API and the admin can
show the field and the reason. Each runs in one transaction.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from oncall import channel_registry
from oncall.audit.services import audit_record, audit_snapshot, audited_delete, audited_save
from oncall.people.hooks import AddressLookupFailed, address_lookup
from oncall.people.models import (
    ContactMethod,
    Engineer,
    NotificationRule,
    Team,
    TeamMembership,
    Urgency,
)


def _full_clean(obj: object, *, exclude: list[str] | None = None) -> None:
    obj.full_clean(exclude=exclude)  # type: ignore[attr-defined]


def _save_or_field_error(obj: object, field: str, message: str) -> None:
    """Save; a unique-constraint race surfaces as a field error instead of a 500."""
    try:
        with transaction.atomic():
            obj.save()  # type: ignore[attr-defined]
    except IntegrityError:
        raise ValidationError({field: [message]}) from None


# --- engineers --------------------------------------------------------------


def _validate_user_and_engineer(user: User, engineer: Engineer) -> None:
    """Validate both rows and report every field problem of either at once."""
    errors: dict[str, list[str]] = {}
    try:
        _full_clean(user, exclude=["password"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        _full_clean(engineer, exclude=["user"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)


def engineer_create(
    *,
    username: str,
    display_name: str = "",
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    time_zone: str = "UTC",
    is_staff: bool = False,
    is_active: bool = True,
    password: str | None = None,
) -> Engineer:
    """Create a Django user and its engineer profile.

    Without ``password`` the user gets an unusable one (API token or admin-set later).
    """
    user_model = get_user_model()
    user: User = user_model(
        username=username.strip(),
        email=email.strip(),
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        is_staff=is_staff,
        is_active=is_active,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    engineer = Engineer(
        display_name=(display_name.strip() or f"{first_name} {last_name}".strip() or username),
        time_zone=time_zone.strip(),
    )
    _validate_user_and_engineer(user, engineer)
    with transaction.atomic():
        _save_or_field_error(user, "username", "a user with that username already exists")
        engineer.user = user
        engineer.save()
        audit_record("create", engineer)
    return engineer


def engineer_profile_ensure(
    *, user: User, display_name: str = "", time_zone: str = "UTC"
) -> Engineer:
    """The engineer profile of an existing Django user, created (and audited) if it has
    none: an admin user becomes someone actions are attributed to, a config file names a
    user that exists already."""
    existing = Engineer.objects.filter(user=user).first()
    if existing is not None:
        return existing
    engineer = Engineer(
        user=user,
        display_name=display_name.strip() or user.get_full_name() or user.get_username(),
        time_zone=time_zone.strip(),
    )
    _full_clean(engineer, exclude=["user"])
    with transaction.atomic():
        engineer.save()
        audit_record("create", engineer)
    return engineer


def engineer_update(
    *,
    engineer: Engineer,
    display_name: str | None = None,
    email: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    time_zone: str | None = None,
    is_staff: bool | None = None,
    is_active: bool | None = None,
) -> Engineer:
    """Change the given fields (``None`` = leave as is) of an engineer and their user."""
    user = engineer.user
    user_changes = {
        "email": email.strip() if email is not None else None,
        "first_name": first_name.strip() if first_name is not None else None,
        "last_name": last_name.strip() if last_name is not None else None,
        "is_staff": is_staff,
        "is_active": is_active,
    }
    for name, value in user_changes.items():
        if value is not None:
            setattr(user, name, value)
    if display_name is not None:
        engineer.display_name = display_name.strip()
    if time_zone is not None:
        engineer.time_zone = time_zone.strip()
    _validate_user_and_engineer(user, engineer)
    with transaction.atomic():
        before = audit_snapshot(engineer)
        user.save()
        engineer.save()
        audit_record("update", engineer, before=before)
    return engineer


def user_save(*, user: User) -> User:
    """Save a user edited in the admin's user pages (staff and active flags, names,
    groups, password hash), recorded with what changed (the password only as changed)."""
    with transaction.atomic():
        return audited_save(user)


def user_delete(*, user: User) -> None:
    """Delete a user and, with it, their engineer profile."""
    with transaction.atomic():
        audited_delete(user)


# --- teams ------------------------------------------------------------------


def team_create(*, name: str, slug: str = "", description: str = "") -> Team:
    team = Team(name=name.strip(), slug=(slug.strip() or slugify(name)), description=description)
    _full_clean(team)
    with transaction.atomic():
        _save_or_field_error(team, "name", "a team with that name or slug already exists")
        audit_record("create", team)
    return team


def team_update(
    *,
    team: Team,
    name: str | None = None,
    slug: str | None = None,
    description: str | None = None,
) -> Team:
    if name is not None:
        team.name = name.strip()
    if slug is not None:
        team.slug = slug.strip()
    if description is not None:
        team.description = description
    _full_clean(team)
    with transaction.atomic():
        before = audit_snapshot(team)
        _save_or_field_error(team, "name", "a team with that name or slug already exists")
        audit_record("update", team, before=before)
    return team


def team_membership_set(
    *, team: Team, engineer: Engineer, role: str = TeamMembership.Role.MEMBER
) -> TeamMembership:
    """Add ``engineer`` to ``team`` with ``role``, or change the role if already a member."""
    if role not in TeamMembership.Role.values:
        raise ValidationError(
            {"role": [f"{role!r} is not one of {', '.join(TeamMembership.Role.values)}"]}
        )
    with transaction.atomic():
        old = TeamMembership.objects.filter(team=team, engineer=engineer).first()
        membership, _ = TeamMembership.objects.update_or_create(
            team=team, engineer=engineer, defaults={"role": role}
        )
        if old is None or old.role != role:
            audit_record(
                "create" if old is None else "update",
                membership,
                before=audit_snapshot(old) if old else None,
            )
    return membership


def team_membership_remove(*, team: Team, engineer: Engineer) -> bool:
    """Remove ``engineer`` from ``team``; returns whether they were a member."""
    with transaction.atomic():
        for membership in TeamMembership.objects.filter(team=team, engineer=engineer):
            audit_record("delete", membership)
        deleted, _ = TeamMembership.objects.filter(team=team, engineer=engineer).delete()
    return deleted > 0


# --- contact methods ----------------------------------------------------------


def contact_value_normalize(*, kind: str, value: str) -> str:
    """Tidy what people type: spaces around anything, then the kind's own rule
    (``ChannelSpec.normalize``: punctuation inside phone numbers, an e-mail domain's case)."""
    return channel_registry.contact_value_normalize(kind, value)


def _slack_email_resolve(cm: ContactMethod) -> None:
    """A Slack method given by e-mail address: page the member id Slack answers for it
    (``users.lookupByEmail``, the lookup the Slack channel registers) and keep the
    address beside it (``slack_email``).

    Runs before the transaction (a network call). Without Slack configured the address
    stays the value, and the transport looks the member up when it sends.
    """
    if cm.kind != "slack" or "@" not in cm.value:
        return
    if not settings.SLACK_ENABLED:
        return
    try:
        validate_email(cm.value)
    except ValidationError:
        return  # not an address: _validate_contact_method says so
    lookup = address_lookup(cm.kind)
    if lookup is None:
        return
    try:
        member = lookup(cm.value)
    except AddressLookupFailed as exc:
        raise ValidationError({"value": [str(exc)]}) from None
    cm.slack_email, cm.value = cm.value, member


def _validate_contact_method(cm: ContactMethod) -> None:
    errors: dict[str, list[str]] = {}
    kinds = channel_registry.contact_kinds()
    if cm.kind not in kinds:
        errors["kind"] = [f"{cm.kind!r} is not one of {', '.join(kinds)}"]
    else:
        try:
            channel_registry.contact_value_validate(cm.kind, cm.value)
        except ValidationError as exc:
            errors["value"] = exc.messages
    if not errors:
        duplicate = ContactMethod.objects.filter(
            engineer_id=cm.engineer_id, kind=cm.kind, value=cm.value
        ).exclude(pk=cm.pk)
        if duplicate.exists():
            errors["value"] = [f"this engineer already has the {cm.kind} contact {cm.value}"]
    try:
        _full_clean(cm, exclude=["engineer", "kind", "value"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)


def contact_method_create(
    *, engineer: Engineer, kind: str, value: str, label: str = "", slack_lookup: bool = True
) -> ContactMethod:
    """Add a contact method; phones start unverified and are not paged until verified.

    ``slack_lookup=False`` keeps a Slack e-mail address as given (the config file: no
    network call inside its transaction); the transport finds the member when it sends.
    """
    cm = ContactMethod(
        engineer=engineer,
        kind=kind,
        value=contact_value_normalize(kind=kind, value=value),
        label=label.strip(),
    )
    if slack_lookup:
        _slack_email_resolve(cm)
    _validate_contact_method(cm)
    with transaction.atomic():
        _save_or_field_error(cm, "value", "this engineer already has this contact method")
        audit_record("create", cm)
    return cm


def contact_method_update(
    *, contact_method: ContactMethod, value: str | None = None, label: str | None = None
) -> ContactMethod:
    """Change the value and/or label.

    A new value is a new address: it is no longer verified, and codes sent to the
    old address stop working.
    """
    cm = contact_method
    value_changed = False
    if value is not None:
        new_value = contact_value_normalize(kind=cm.kind, value=value)
        if cm.slack_email and new_value == cm.slack_email:
            new_value = cm.value  # the address it was found by: the same member
        value_changed = new_value != cm.value
        if value_changed:
            cm.value, cm.slack_email = new_value, ""
            _slack_email_resolve(cm)
    if label is not None:
        cm.label = label.strip()
    _validate_contact_method(cm)
    now = timezone.now()
    with transaction.atomic():
        before = audit_snapshot(cm)
        if value_changed:
            cm.verified_at = None
            cm.last_error = ""
            cm.verification_codes.filter(used_at__isnull=True, expires_at__gt=now).update(
                expires_at=now
            )
        _save_or_field_error(cm, "value", "this engineer already has this contact method")
        audit_record("update", cm, before=before)
    return cm


def contact_method_disable(*, contact_method: ContactMethod, reason: str) -> ContactMethod:
    """Stop paging this method (kept on file); ``reason`` is shown to people."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["say why the contact method is disabled"]})
    now = timezone.now()
    with transaction.atomic():
        before = audit_snapshot(contact_method)
        ContactMethod.objects.filter(pk=contact_method.pk, disabled_at__isnull=True).update(
            disabled_at=now
        )
        ContactMethod.objects.filter(pk=contact_method.pk).update(disabled_reason=reason[:255])
        audit_record("disable", contact_method, before=before)
    contact_method.refresh_from_db()
    return contact_method


def contact_method_enable(*, contact_method: ContactMethod) -> ContactMethod:
    with transaction.atomic():
        before = audit_snapshot(contact_method)
        ContactMethod.objects.filter(pk=contact_method.pk).update(
            disabled_at=None, disabled_reason=""
        )
        audit_record("enable", contact_method, before=before)
    contact_method.refresh_from_db()
    return contact_method


def contact_method_delete(*, contact_method: ContactMethod) -> None:
    """Delete a contact method and the notification rules that use it."""
    with transaction.atomic():
        audited_delete(contact_method)


# --- notification rules -------------------------------------------------------


def _validate_rule(rule: NotificationRule) -> None:
    errors: dict[str, list[str]] = {}
    if rule.contact_method.engineer_id != rule.engineer_id:
        errors["contact_method"] = [
            "belongs to another engineer: a rule can only use its own engineer's contact methods"
        ]
    if rule.urgency not in Urgency.values:
        errors["urgency"] = [f"{rule.urgency!r} is not one of {', '.join(Urgency.values)}"]
    if rule.delay_minutes is None or rule.delay_minutes < 0:
        errors["delay_minutes"] = ["must be a whole number of minutes, 0 or more"]
    elif rule.delay_minutes > 24 * 60:
        errors["delay_minutes"] = ["must be at most 1440 minutes (one day)"]
    if not errors:
        duplicate = NotificationRule.objects.filter(
            contact_method_id=rule.contact_method_id,
            delay_minutes=rule.delay_minutes,
            urgency=rule.urgency,
        ).exclude(pk=rule.pk)
        if duplicate.exists():
            errors[NON_FIELD_ERRORS] = [
                "a rule with this contact method, delay and urgency already exists"
            ]
    if errors:
        raise ValidationError(errors)


def notification_rule_create(
    *,
    engineer: Engineer,
    contact_method: ContactMethod,
    delay_minutes: int = 0,
    urgency: str = Urgency.HIGH,
) -> NotificationRule:
    """Add a rung to the engineer's ladder: use ``contact_method`` ``delay_minutes`` in."""
    rule = NotificationRule(
        engineer=engineer,
        contact_method=contact_method,
        delay_minutes=delay_minutes,
        urgency=urgency,
    )
    _validate_rule(rule)
    with transaction.atomic():
        _save_or_field_error(rule, NON_FIELD_ERRORS, "this rule already exists")
        audit_record("create", rule)
    return rule


def notification_rule_update(
    *,
    rule: NotificationRule,
    contact_method: ContactMethod | None = None,
    delay_minutes: int | None = None,
    urgency: str | None = None,
) -> NotificationRule:
    if contact_method is not None:
        rule.contact_method = contact_method
    if delay_minutes is not None:
        rule.delay_minutes = delay_minutes
    if urgency is not None:
        rule.urgency = urgency
    _validate_rule(rule)
    with transaction.atomic():
        before = audit_snapshot(rule)
        _save_or_field_error(rule, NON_FIELD_ERRORS, "this rule already exists")
        audit_record("update", rule, before=before)
    return rule


def notification_rule_move(*, rule: NotificationRule, direction: str) -> NotificationRule | None:
    """Move a rung one place up or down its ladder (same engineer and urgency) by
    swapping delays with its neighbour; returns the neighbour (None at either end).

    Swapping with a rung of the same delay or the same method would change nothing:
    that is refused with the reason on ``delay_minutes``.
    """
    if direction not in ("up", "down"):
        raise ValidationError({"direction": [f"{direction!r} is not one of up, down"]})
    ladder = sorted(
        NotificationRule.objects.filter(engineer_id=rule.engineer_id, urgency=rule.urgency),
        key=lambda r: (r.delay_minutes, r.pk),
    )
    at = next(i for i, r in enumerate(ladder) if r.pk == rule.pk)
    other_at = at - 1 if direction == "up" else at + 1
    if not 0 <= other_at < len(ladder):
        return None
    other = ladder[other_at]
    if other.delay_minutes == rule.delay_minutes:
        raise ValidationError(
            {"delay_minutes": ["fires at the same time as its neighbour: change the delay instead"]}
        )
    if other.contact_method_id == rule.contact_method_id:
        raise ValidationError(
            {"delay_minutes": ["its neighbour uses the same method: the order would not change"]}
        )
    mine, theirs = rule.delay_minutes, other.delay_minutes
    with transaction.atomic():
        # Distinct delays and distinct methods: neither step of the swap can collide
        # with the uniqueness of (method, delay, urgency) through the other rung.
        notification_rule_update(rule=rule, delay_minutes=theirs)
        notification_rule_update(rule=other, delay_minutes=mine)
    return other


def notification_rule_delete(*, rule: NotificationRule) -> None:
    with transaction.atomic():
        audited_delete(rule)


def engineer_delete(*, engineer: Engineer) -> None:
    """Delete an engineer profile with its contact methods and rules (the user stays)."""
    with transaction.atomic():
        audited_delete(engineer)


def team_delete(*, team: Team) -> None:
    """Delete a team and its memberships (``ProtectedError`` if something still needs it)."""
    with transaction.atomic():
        audited_delete(team)
