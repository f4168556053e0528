"""Incidents, the alerts attached to them and their timeline.

The incident row also holds its escalation state (step, loop, ``next_due_at``): the
engine claims due incidents with ``select_for_update(skip_locked=True)`` and every
action (ack, resolve, escalate) updates the same row, so one row lock orders them all.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

RESOLUTIONS = [
    ("fixed", "Fixed"),
    ("false_positive", "False positive"),
    ("duplicate", "Duplicate"),
    ("no_action_needed", "No action needed"),
]


def _engineer_or_nobody() -> models.ForeignKey:
    """An engineer who acted on the row, NULL for the engine (kept when they leave).
    Indexed in ``Meta`` only where set: most rows have nobody, and a full index took an
    entry of NULL at every insert and status change."""
    return models.ForeignKey(
        "oncall.Engineer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )


class Incident(models.Model):
    class Status(models.TextChoices):
        TRIGGERED = "triggered", "Triggered"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    OPEN_STATUSES = (Status.TRIGGERED, Status.ACKNOWLEDGED)

    service = models.ForeignKey(
        "paging.Service", on_delete=models.CASCADE, related_name="incidents"
    )
    dedup_key = models.CharField(max_length=255)
    title = models.CharField(max_length=1024)
    severity = models.CharField(max_length=16, default="critical")
    urgency = models.CharField(max_length=8, default="high")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TRIGGERED)
    details = models.JSONField(default=dict, blank=True)
    links = models.JSONField(default=list, blank=True)
    # Recorded during a maintenance window: nobody was paged.
    in_maintenance = models.BooleanField(default=False)
    # P1 (most urgent) .. P5; None = not graded. Set by alert rules, the Events API or by hand.
    priority = models.PositiveSmallIntegerField(null=True, blank=True)
    # Why nobody is paged for this incident (an alert rule's suppress action, an
    # inhibition); empty = paged normally. Suppressed incidents stay visible and counted.
    suppressed_by = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = _engineer_or_nobody()
    acknowledged_via = models.CharField(max_length=32, blank=True)
    # The first ack ever and who gave it (MTTA, and whom it credits); kept when an ack
    # timeout re-triggers the incident, while ``acknowledged_*`` hold the latest ack.
    first_acknowledged_at = models.DateTimeField(null=True, blank=True)
    first_acknowledged_by = _engineer_or_nobody()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = _engineer_or_nobody()
    resolved_via = models.CharField(max_length=32, blank=True)
    assigned_to = models.ManyToManyField("oncall.Engineer", blank=True, related_name="+")

    # Escalation state. ``escalation_step`` is the next step to run; ``escalation_loop``
    # counts every pass over the policy (repeats, ack timeouts) and never goes back, so
    # it keeps message idempotency keys unique; ``escalation_repeat`` is the pass number
    # within the current run, compared with the policy's ``repeat``.
    escalation_policy = models.ForeignKey(
        "paging.EscalationPolicy",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="incidents",
    )
    # The policy version the incident runs (bound when its escalation starts; moved only
    # by ``policy_version_apply_to_open`` or a reassignment).
    escalation_version = models.ForeignKey(
        "paging.EscalationPolicyVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="incidents",
    )
    # When paging started: the first step, or the end of the maintenance window that
    # held the incident (None while held, and on incidents from before this field).
    escalation_started_at = models.DateTimeField(null=True, blank=True)
    escalation_step = models.PositiveIntegerField(default=0)
    escalation_loop = models.PositiveIntegerField(default=0)
    escalation_repeat = models.PositiveIntegerField(default=0)
    # Triggered: when the next step runs. Acknowledged: when the ack times out.
    next_due_at = models.DateTimeField(null=True, blank=True)
    # The version's unresolved steps (notices that run after an ack too): the next one to
    # run and when it is due (None: none left, or resolved). Claimed by the
    # ``unresolved_notices`` tick step like ``next_due_at`` by the escalation.
    unresolved_step = models.PositiveIntegerField(default=0)
    unresolved_due_at = models.DateTimeField(null=True, blank=True)
    # Why it was resolved (set by ``incident_resolve``; None: not said).
    resolution = models.CharField(max_length=20, null=True, blank=True, choices=RESOLUTIONS)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # At most one open incident per (service, dedup key): concurrent deliveries
            # of the same alert cannot open two.
            models.UniqueConstraint(
                fields=["service", "dedup_key"],
                condition=Q(status__in=["triggered", "acknowledged"]),
                name="uniq_open_incident_per_dedup_key",
            ),
            models.CheckConstraint(
                condition=Q(priority__isnull=True) | Q(priority__gte=1, priority__lte=5),
                name="incident_priority_1_to_5",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_due_at"],
                condition=Q(next_due_at__isnull=False),
                name="incident_due",
            ),
            models.Index(
                fields=["unresolved_due_at"],
                condition=Q(unresolved_due_at__isnull=False),
                name="incident_unresolved_due",
            ),
            models.Index(fields=["status", "-created_at"], name="incident_status_created"),
            # Who acknowledged or resolved, where set (``_engineer_or_nobody``).
            *(
                models.Index(fields=[name], condition=Q(**{f"{name}__isnull": False}), name=index)
                for name, index in (
                    ("acknowledged_by", "incident_acked_by"),
                    ("first_acknowledged_by", "incident_first_acked_by"),
                    ("resolved_by", "incident_resolved_by"),
                )
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class Alert(models.Model):
    """One alert (Alertmanager fingerprint episode, PagerDuty dedup key) of an incident."""

    class Status(models.TextChoices):
        FIRING = "firing", "Firing"
        RESOLVED = "resolved", "Resolved"

    # Indexed by alert_incident_status (incident, status), which leads with it.
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="alerts", db_index=False
    )
    service = models.ForeignKey("paging.Service", on_delete=models.CASCADE, related_name="+")
    integration = models.ForeignKey(
        "paging.Integration", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    alert_key = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.FIRING)
    title = models.CharField(max_length=1024, blank=True)
    severity = models.CharField(max_length=16, default="critical")
    source = models.CharField(max_length=255, blank=True)
    details = models.JSONField(default=dict, blank=True)
    links = models.JSONField(default=list, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    deliveries = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["first_seen_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "alert_key"],
                condition=Q(status="firing"),
                name="uniq_firing_alert_per_key",
            )
        ]
        indexes = [models.Index(fields=["incident", "status"], name="alert_incident_status")]

    def __str__(self) -> str:
        return f"{self.alert_key} ({self.status})"


class IncidentEvent(models.Model):
    """One line of an incident's timeline."""

    class Kind(models.TextChoices):
        TRIGGERED = "triggered", "Incident triggered"
        ALERT_RECEIVED = "alert_received", "Alert received"
        ALERT_RESOLVED = "alert_resolved", "Alert resolved"
        MAINTENANCE = "maintenance", "Maintenance window: nobody paged"
        MAINTENANCE_ENDED = "maintenance_ended", "Maintenance window ended"
        SUPPRESSED = "suppressed", "Suppressed: nobody paged"
        SUPPRESSION_ENDED = "suppression_ended", "Suppression ended: paging starts"
        POLICY_VERSION = "policy_version", "Escalation policy version"
        ESCALATION_STEP = "escalation_step", "Escalation step"
        ESCALATION_EXHAUSTED = "escalation_exhausted", "Escalation policy exhausted"
        NOTIFICATION_QUEUED = "notification_queued", "Notification queued"
        NOTIFICATION_SENT = "notification_sent", "Notification sent"
        NOTIFICATION_DELIVERED = "notification_delivered", "Notification delivered"
        NOTIFICATION_FAILED = "notification_failed", "Notification failed"
        NOTIFICATION_THROTTLED = "notification_throttled", "Notification throttled"
        NO_CONTACT = "no_contact", "Nobody reachable"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        ACK_TIMEOUT = "ack_timeout", "Acknowledgement timed out"
        RESOLVED = "resolved", "Resolved"
        ESCALATED = "escalated", "Escalated manually"
        REASSIGNED = "reassigned", "Reassigned"
        PRIORITY = "priority", "Priority changed"
        NOTE = "note", "Note"
        # Incident response (paging/response): roles, status updates, the status page.
        ROLE = "role", "Role assigned"
        STATUS_UPDATE = "status_update", "Status update"
        PUBLISHED = "published", "Marked public"
        ACTION_ITEM = "action_item", "Action item"
        UNRESOLVED_NOTICE = "unresolved_notice", "Still unresolved: notice sent"

    # Indexed by event_incident_at (incident, at), which leads with it.
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    at = models.DateTimeField()
    actor = _engineer_or_nobody()
    via = models.CharField(max_length=32, blank=True)
    message = models.ForeignKey(
        "paging.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # partial index in Meta
    )
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["incident", "at"], name="event_incident_at"),
            # Most lines have no actor or message (the engine's own): where set.
            models.Index(fields=["actor"], condition=Q(actor__isnull=False), name="event_actor"),
            models.Index(
                fields=["message"], condition=Q(message__isnull=False), name="event_message"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%H:%M:%S} {self.kind} {self.text}"
