"""Services (what alerts are about), their maintenance windows and integrations."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q

from oncall.public_url import public_url

SEVERITIES = ("critical", "error", "warning", "info")
URGENCIES = ("high", "low")
DEFAULT_URGENCY_RULES: dict[str, str] = {
    "critical": "high",
    "error": "high",
    "warning": "low",
    "info": "low",
}


def default_urgency_rules() -> dict[str, str]:
    return dict(DEFAULT_URGENCY_RULES)


class Service(models.Model):
    """Something that can break; alerts for it become incidents paged by its policy."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    team = models.ForeignKey("oncall.Team", on_delete=models.PROTECT, related_name="services")
    escalation_policy = models.ForeignKey(
        "paging.EscalationPolicy",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="services",
    )
    # severity -> urgency; severities missing here use DEFAULT_URGENCY_RULES.
    urgency_rules = models.JSONField(default=default_urgency_rules, blank=True)
    # Acknowledged but not resolved within this many minutes -> triggered again.
    ack_timeout_minutes = models.PositiveIntegerField(null=True, blank=True)
    # Low-urgency pages wait for the responder's business hours (Mon-Fri 08-18 local).
    low_urgency_business_hours_only = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def urgency_for(self, severity: str) -> str:
        rules = self.urgency_rules or {}
        urgency = rules.get(severity) or DEFAULT_URGENCY_RULES.get(severity, "high")
        return urgency if urgency in URGENCIES else "high"

    def in_maintenance(self, at: datetime) -> bool:
        return self.maintenance_windows.filter(starts_at__lte=at, ends_at__gt=at).exists()


class MaintenanceWindow(models.Model):
    """While it lasts, alerts for the service are recorded and nobody is paged."""

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="maintenance_windows"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="maintenance_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service} maintenance {self.starts_at:%Y-%m-%d %H:%M}-{self.ends_at:%H:%M}"


# What PagerDuty allows one integration key by default: events (requests) per minute.
DEFAULT_RATE_LIMIT_PER_MINUTE = 120
MAX_RATE_LIMIT_PER_MINUTE = 1_000_000
SNS_TOPIC_ARN = re.compile(
    r"^arn:aws(-cn|-us-gov|-iso|-iso-b)?:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}$"
)


def validate_sns_topic_arns(value: object) -> None:
    """A list of distinct SNS topic ARNs (``arn:aws:sns:<region>:<account>:<topic>``)."""
    if not isinstance(value, list):
        raise ValidationError("must be a list of SNS topic ARNs")
    for index, arn in enumerate(value):
        if not isinstance(arn, str) or not SNS_TOPIC_ARN.match(arn):
            raise ValidationError(
                f"item {index + 1} is not an SNS topic ARN"
                f" (arn:aws:sns:<region>:<account id>:<topic>): {str(arn)[:80]!r}"
            )
    if len(set(value)) != len(value):
        raise ValidationError("lists a topic ARN twice")


def new_integration_token() -> str:
    # 32 hex chars: url-safe, and the length PagerDuty clients expect of a routing key.
    return secrets.token_hex(16)


class IntegrationManager(models.Manager["Integration"]):
    def for_token(self, token: str, *, kind: str | None = None) -> Integration | None:
        """The integration with this token (and kind, if given), or None."""
        if not isinstance(token, str) or not token or len(token) > 64:
            return None
        qs = self.select_related("service")
        if kind is not None:
            qs = qs.filter(kind=kind)
        return qs.filter(token=token).first()


class Integration(models.Model):
    """One way alerts reach a service: a secret URL (or PagerDuty routing key)."""

    class Kind(models.TextChoices):
        ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"
        PAGERDUTY = "pagerduty", "PagerDuty Events API v2"
        WEBHOOK = "webhook", "Generic JSON webhook"
        GRAFANA = "grafana", "Grafana Alerting webhook"
        SNS = "sns", "Amazon SNS (CloudWatch alarms)"

    class Grouping(models.TextChoices):
        GROUP = "group", "One incident per alert group"
        ALERT = "alert", "One incident per alert"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="integrations")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=100, blank=True)
    token = models.CharField(max_length=64, unique=True, default=new_integration_token)
    grouping = models.CharField(max_length=8, choices=Grouping.choices, default=Grouping.GROUP)
    # Requests (events) accepted per minute; beyond it 429 with Retry-After. 0 = no limit.
    rate_limit_per_minute = models.PositiveIntegerField(
        default=DEFAULT_RATE_LIMIT_PER_MINUTE,
        validators=[MaxValueValidator(MAX_RATE_LIMIT_PER_MINUTE)],
        help_text="Events (requests) accepted per minute; more are answered 429. 0 = no limit.",
    )
    # Amazon SNS only: the topics whose messages this integration accepts.
    sns_topic_arns = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_sns_topic_arns],
        help_text="Amazon SNS only: the topic ARNs accepted, e.g."
        ' ["arn:aws:sns:us-east-1:123456789012:oncall-alarms"]. Other topics are refused.',
    )
    # Bumped by every write of this integration's alert rules or of any inhibit rule: the
    # ingest reads it with the token check and recompiles its rules when it moved.
    rules_version = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = IntegrationManager()

    class Meta:
        ordering = ["service__name", "kind", "name"]

    def __str__(self) -> str:
        return f"{self.service} / {self.name or self.get_kind_display()}"

    def clean(self) -> None:
        if self.sns_topic_arns and self.kind != self.Kind.SNS:
            raise ValidationError(
                {"sns_topic_arns": f"only an Amazon SNS integration takes topics, not {self.kind}"}
            )

    @property
    def inbound_path(self) -> str:
        if self.kind == self.Kind.PAGERDUTY:
            return "/v2/enqueue"
        return f"/integrations/{self.kind}/{self.token}/"

    @property
    def inbound_url(self) -> str:
        """The full URL to paste into the alert source (PagerDuty: plus the routing key)."""
        return public_url(self.inbound_path)
