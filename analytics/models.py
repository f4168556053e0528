"""Analytics settings that admins edit: SLA targets per service and the review template."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.template import Engine, TemplateSyntaxError

# Used when no SlaTarget row applies: high urgency acknowledged within 5 minutes,
# low urgency has no target (not counted in SLA attainment).
DEFAULT_ACK_TARGET_MINUTES: dict[str, int | None] = {"high": 5, "low": None}


class SlaTarget(models.Model):
    """How fast incidents of a service (or of every service: ``service`` empty) must be
    acknowledged and resolved, per urgency. A service row beats the global row."""

    service = models.ForeignKey(
        "paging.Service",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sla_targets",
        help_text="empty = the default for every service",
    )
    urgency = models.CharField(
        max_length=8, choices=[("high", "High"), ("low", "Low")], default="high"
    )
    ack_within_minutes = models.PositiveIntegerField(default=5)
    resolve_within_minutes = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["service__name", "urgency"]
        verbose_name = "SLA target"
        constraints = [
            models.UniqueConstraint(
                fields=["service", "urgency"],
                condition=Q(service__isnull=False),
                name="uniq_sla_target_service_urgency",
            ),
            models.UniqueConstraint(
                fields=["urgency"],
                condition=Q(service__isnull=True),
                name="uniq_sla_target_default_urgency",
            ),
        ]

    def __str__(self) -> str:
        scope = self.service.name if self.service is not None else "every service"
        return f"{scope}, {self.urgency}: ack within {self.ack_within_minutes} min"


class ReviewTemplate(models.Model):
    """The Markdown template of post-incident review drafts (Django template language).

    The row named ``default`` is used; without it, ``analytics.review.DEFAULT_TEMPLATE``.
    """

    name = models.CharField(max_length=64, unique=True, default="default")
    body = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            Engine(autoescape=False).from_string(self.body)
        except TemplateSyntaxError as exc:
            raise ValidationError({"body": f"template syntax error: {exc}"}) from exc


class DashboardLink(SlaTarget):
    """No data of its own: gives the admin index an "Analytics dashboard" entry.

    (An admin/index.html override cannot win: django.contrib.admin comes first in
    INSTALLED_APPS, so its own template is found first.)
    """

    class Meta:
        proxy = True
        verbose_name = "analytics dashboard"
        verbose_name_plural = "analytics dashboard"
