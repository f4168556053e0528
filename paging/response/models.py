"""Incident response after the page: roles, status updates, stakeholders, the public
status page and post-incident action items.

Every row here is written by one service in ``paging.response.services`` (or
``config_section`` through them); the admin and the API only parse and call.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q


class IncidentRole(models.Model):
    """Who holds a role on an incident (one engineer per role; None = cleared)."""

    class Role(models.TextChoices):
        COMMANDER = "commander", "Incident commander"
        COMMUNICATIONS = "communications", "Communications lead"

    incident = models.ForeignKey("paging.Incident", on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(max_length=16, choices=Role.choices)
    engineer = models.ForeignKey(
        "oncall.Engineer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField()
    assigned_by = models.ForeignKey(
        "oncall.Engineer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["incident", "role"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "role"], name="uniq_incident_role")
        ]

    def __str__(self) -> str:
        return f"#{self.incident_id} {self.get_role_display()}"


class StatusUpdate(models.Model):
    """A status update: on the timeline, sent to stakeholders, and on the status page when
    the incident was public when it was posted (``public``)."""

    class State(models.TextChoices):
        INVESTIGATING = "investigating", "Investigating"
        IDENTIFIED = "identified", "Identified"
        MONITORING = "monitoring", "Monitoring"
        RESOLVED = "resolved", "Resolved"

    incident = models.ForeignKey(
        "paging.Incident", on_delete=models.CASCADE, related_name="status_updates"
    )
    state = models.CharField(max_length=16, choices=State.choices)
    text = models.TextField()
    # Posted while the incident was public: the status page shows it (earlier updates
    # were written for the team and stay internal).
    public = models.BooleanField(default=False)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        "oncall.Engineer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["incident", "at"], name="status_update_incident_at")]

    def __str__(self) -> str:
        return f"#{self.incident_id} {self.state} at {self.at:%Y-%m-%d %H:%M}"


class IncidentPublication(models.Model):
    """An incident someone marked public: it appears on the status page under
    ``public_title`` (never its internal title)."""

    incident = models.OneToOneField(
        "paging.Incident", on_delete=models.CASCADE, related_name="publication"
    )
    public_title = models.CharField(max_length=200)
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(
        "oncall.Engineer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-published_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.incident_id} public: {self.public_title}"


class StatusPageGroup(models.Model):
    """A group of services as the status page shows it: its public name, never the
    services' own (internal) names."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    position = models.PositiveIntegerField(default=0)
    services = models.ManyToManyField("paging.Service", blank=True, related_name="status_groups")

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class StakeholderSubscription(models.Model):
    """A person or a Slack channel told about the status updates of a service's incidents."""

    service = models.ForeignKey(
        "paging.Service", on_delete=models.CASCADE, related_name="stakeholder_subscriptions"
    )
    engineer = models.ForeignKey(
        "oncall.Engineer", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    slack_channel = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["service", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(engineer__isnull=False) & Q(slack_channel=""))
                | (Q(engineer__isnull=True) & ~Q(slack_channel="")),
                name="stakeholder_engineer_xor_channel",
            ),
            models.UniqueConstraint(
                fields=["service", "engineer"],
                condition=Q(engineer__isnull=False),
                name="uniq_stakeholder_engineer",
            ),
            models.UniqueConstraint(
                fields=["service", "slack_channel"],
                condition=~Q(slack_channel=""),
                name="uniq_stakeholder_channel",
            ),
        ]

    def __str__(self) -> str:
        who = f"Slack {self.slack_channel}" if self.slack_channel else str(self.engineer)
        return f"{self.service} -> {who}"


class ActionItem(models.Model):
    """A follow-up from a post-incident review. Listed open first, soonest due first
    (no date last): ``ActionItem.ORDER``."""

    ORDER = (F("done_at").asc(nulls_first=True), F("due_date").asc(nulls_last=True), "id")

    incident = models.ForeignKey(
        "paging.Incident", on_delete=models.CASCADE, related_name="action_items"
    )
    title = models.CharField(max_length=500)
    owner = models.ForeignKey(
        "oncall.Engineer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_date = models.DateField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        "oncall.Engineer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["done_at", "due_date", "id"]
        indexes = [models.Index(fields=["done_at", "due_date"], name="action_item_open_due")]

    def __str__(self) -> str:
        return self.title

    @property
    def done(self) -> bool:
        return self.done_at is not None
