"""The outbox of messages and the engine's heartbeat."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Message(models.Model):
    """One outgoing message (a page, a verification code, a reminder): the outbox row.

    Written in the same transaction as the state change that needs it; the
    dispatcher sends it later and records the outcome here.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        # Throttled: folded into one summary message (``bundled_into``).
        BUNDLED = "bundled", "Bundled"

    class Purpose(models.TextChoices):
        PAGE = "page", "Page"
        VERIFICATION = "verification", "Verification code"
        SWAP = "swap", "Shift swap"
        REMINDER = "reminder", "Shift reminder"
        NOTICE = "notice", "Notice"

    idempotency_key = models.CharField(max_length=255, unique=True)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    engineer = models.ForeignKey(
        "oncall.Engineer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    # No index of its own: message_cm_sent (contact_method, sent_at) leads with it, and
    # every extra index is written again by each status change of a hot outbox row.
    contact_method = models.ForeignKey(
        "oncall.ContactMethod",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
        db_index=False,
    )
    # The kind of contact method (voice, sms, email, slack) and the address used,
    # copied so the record stays readable if the contact method changes.
    kind = models.CharField(max_length=16)
    destination = models.CharField(max_length=254)
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    due_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    # Attempts the provider refused with a rate limit: they do not count against the
    # outbox's MAX_ATTEMPTS. db_default: the engine COPYs rows without this column.
    rate_limited = models.PositiveIntegerField(default=0, db_default=0)
    transport = models.CharField(max_length=32, blank=True)  # console, twilio, slack…
    provider_id = models.CharField(max_length=128, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Pages only: which incident, escalation step and loop, and which personal rule.
    # No index of its own: message_incident (incident, status) leads with it.
    incident = models.ForeignKey(
        "paging.Incident",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="messages",
        db_index=False,
    )
    escalation_step = models.IntegerField(null=True, blank=True)
    escalation_loop = models.IntegerField(null=True, blank=True)
    notification_rule = models.ForeignKey(
        "oncall.NotificationRule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    bundled_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="bundled",
        db_index=False,  # partial index in Meta
    )
    # The dispatcher's lease on a row it is sending: every later write (and the provider
    # call itself) is conditional on still holding ``claim_token``; a row whose lease
    # expired belongs to a worker that died and is claimed again. db_default: the
    # engine COPYs rows without these columns.
    claim_token = models.CharField(max_length=32, blank=True, default="", db_default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Set (and committed) before each provider call, cleared when the provider answered:
    # a row that still has it when claimed again may have reached the provider already,
    # so the dispatcher asks the provider (``find_sent``) before sending it again.
    attempt_started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="message_due"),
            models.Index(fields=["incident", "status"], name="message_incident"),
            models.Index(fields=["contact_method", "sent_at"], name="message_cm_sent"),
            # Only the rows bundled into another: a full index took an entry of NULL at
            # every insert and status change of every page.
            models.Index(
                fields=["bundled_into"],
                condition=Q(bundled_into__isnull=False),
                name="message_bundled_into",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} to {self.destination} ({self.status})"


class EngineHeartbeat(models.Model):
    """A single row updated by every engine tick; /healthz reads its age."""

    name = models.CharField(max_length=32, unique=True, default="engine")
    last_tick_at = models.DateTimeField()
    last_tick_ms = models.FloatField(default=0)
    processed = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} ticked at {self.last_tick_at}"
