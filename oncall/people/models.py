"""The people directory: teams, engineers, contact methods, notification rules."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from oncall.channel_registry import channel_spec, contact_kind_choices, contact_value_validate
from oncall.people.validators import validate_time_zone


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Engineer(models.Model):
    """A person who can be put on call and paged; always backed by a Django user."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="engineer"
    )
    display_name = models.CharField(max_length=150)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    teams = models.ManyToManyField(Team, through="TeamMembership", related_name="engineers")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def username(self) -> str:
        return self.user.get_username()


class TeamMembership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        ADMIN = "admin", "Admin"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    engineer = models.ForeignKey(Engineer, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "engineer"], name="uniq_team_member")
        ]
        ordering = ["team__name", "engineer__display_name"]

    def __str__(self) -> str:
        return f"{self.engineer} in {self.team} ({self.role})"


class ContactMethod(models.Model):
    """An address of an engineer: a phone, an e-mail address, a Slack member… Its kinds
    are the channels' (``oncall.channel_registry``): choices, validation, verification."""

    # Set by the services (lookup, verification, failures), never typed in: read-only
    # in the API and the admin.
    SET_BY_SERVICES = (
        "slack_email",
        "verified_at",
        "disabled_at",
        "disabled_reason",
        "last_error",
        "created_at",
    )

    engineer = models.ForeignKey(Engineer, on_delete=models.CASCADE, related_name="contact_methods")
    kind = models.CharField(max_length=16, choices=contact_kind_choices)
    value = models.CharField(max_length=254)
    # Slack only: the e-mail address the member id in ``value`` was looked up by
    # (``users.lookupByEmail``), when the method was added by e-mail.
    slack_email = models.EmailField(blank=True, default="")
    label = models.CharField(max_length=64, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=255, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["engineer", "kind", "value"], name="uniq_contact_method"
            )
        ]
        ordering = ["engineer__display_name", "kind", "value"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value}"

    def clean(self) -> None:
        try:
            contact_value_validate(self.kind, self.value)
        except ValidationError as exc:
            raise ValidationError({"value": exc.messages}) from None

    @property
    def needs_verification(self) -> bool:
        """Whether this kind must be verified before it is paged (a phone)."""
        spec = channel_spec(self.kind)
        return spec is not None and spec.verify_before_paging

    @property
    def is_pageable(self) -> bool:
        """Whether the engine may send pages to this method now."""
        if self.disabled_at is not None:
            return False
        return not (self.needs_verification and self.verified_at is None)


class Urgency(models.TextChoices):
    HIGH = "high", "High"
    LOW = "low", "Low"


class NotificationRule(models.Model):
    """One rung of an engineer's personal ladder: use this method N minutes in."""

    engineer = models.ForeignKey(
        Engineer, on_delete=models.CASCADE, related_name="notification_rules"
    )
    contact_method = models.ForeignKey(
        ContactMethod, on_delete=models.CASCADE, related_name="notification_rules"
    )
    delay_minutes = models.PositiveIntegerField(default=0)
    urgency = models.CharField(max_length=8, choices=Urgency.choices, default=Urgency.HIGH)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact_method", "delay_minutes", "urgency"], name="uniq_rule"
            )
        ]
        ordering = ["engineer__display_name", "urgency", "delay_minutes"]

    def __str__(self) -> str:
        return f"{self.urgency}: {self.contact_method} at +{self.delay_minutes} min"

    def clean(self) -> None:
        if (
            self.contact_method_id
            and self.engineer_id
            and self.contact_method.engineer_id != self.engineer_id
        ):
            raise ValidationError({"contact_method": "belongs to another engineer"})


class VerificationCode(models.Model):
    """A 6-digit code sent through a contact method to prove it reaches its owner.

    Only a hash of the code is stored.
    """

    contact_method = models.ForeignKey(
        ContactMethod, on_delete=models.CASCADE, related_name="verification_codes"
    )
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["contact_method", "-created_at"])]

    def __str__(self) -> str:
        return f"code for {self.contact_method} (expires {self.expires_at:%Y-%m-%d %H:%M})"
