"""Priority levels (P1, the most urgent, to P5) and a service's policy per priority.

Incidents store their priority as a number (``Incident.priority``); these rows give the
numbers a display name and targets. No rows at all means the built-in defaults
(``paging.priorities.DEFAULT_LEVELS``); once a row exists, exactly the levels with a row
are used (a team grading SEV1–SEV4 has four).
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

PRIORITY_MIN, PRIORITY_MAX = 1, 5
PRIORITY_VALIDATORS = [MinValueValidator(PRIORITY_MIN), MaxValueValidator(PRIORITY_MAX)]
PRIORITY_CHOICES = [(n, f"P{n}") for n in range(PRIORITY_MIN, PRIORITY_MAX + 1)]
_CODE_LIKE = re.compile(r"^[Pp]?([0-9]+)$")


class PriorityLevel(models.Model):
    level = models.PositiveSmallIntegerField(
        unique=True, choices=PRIORITY_CHOICES, validators=PRIORITY_VALIDATORS
    )
    # What people call it: "SEV1", "P1 - critical"; shown next to "P1".
    name = models.CharField(max_length=32)
    description = models.CharField(max_length=255, blank=True)
    # Response-time target: acknowledged within this many minutes (empty = no target).
    ack_within_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="acknowledged within (minutes); empty = no target"
    )
    resolve_within_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="resolved within (minutes); empty = no target"
    )

    class Meta:
        ordering = ["level"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="uniq_priority_level_name",
                violation_error_message="Another priority level has this name.",
            ),
            models.CheckConstraint(
                condition=Q(level__gte=PRIORITY_MIN, level__lte=PRIORITY_MAX),
                name="priority_level_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        code = f"P{self.level}"
        return code if self.name.upper() == code else f"{code} ({self.name})"

    def clean(self) -> None:
        # "/oncall priority 42 P2" must mean one level: a name may not read as another's.
        self.name = self.name.strip()
        if not self.name:
            raise ValidationError({"name": "must not be blank"})
        match = _CODE_LIKE.match(self.name)
        if match and int(match.group(1)) != self.level:
            raise ValidationError(
                {
                    "name": f"{self.name!r} reads as P{int(match.group(1))}: give "
                    f"P{self.level} another name (e.g. SEV{self.level})"
                }
            )


class ServicePriorityPolicy(models.Model):
    """Incidents of ``service`` with ``priority`` follow ``escalation_policy`` instead of
    the service's own policy (``paging.priority_policy.policy_for``)."""

    service = models.ForeignKey(
        "paging.Service", on_delete=models.CASCADE, related_name="priority_policies"
    )
    priority = models.PositiveSmallIntegerField(
        choices=PRIORITY_CHOICES, validators=PRIORITY_VALIDATORS
    )
    escalation_policy = models.ForeignKey(
        "paging.EscalationPolicy", on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        ordering = ["service", "priority"]
        verbose_name = "escalation policy per priority"
        verbose_name_plural = "escalation policies per priority"
        constraints = [
            models.UniqueConstraint(
                fields=["service", "priority"], name="uniq_service_priority_policy"
            ),
            models.CheckConstraint(
                condition=Q(priority__gte=PRIORITY_MIN, priority__lte=PRIORITY_MAX),
                name="service_priority_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service}: P{self.priority} -> {self.escalation_policy}"
