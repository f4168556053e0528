"""Delivery state: SMS reply codes and the log of inbound SMS (for rate limits)."""

from __future__ import annotations

from django.db import models


class SmsReplyCode(models.Model):
    """A short number that names one incident in replies from one phone ("1a" acks #1).

    A row is a slot (phone, code): it points at a new incident only once the previous
    one is resolved and a cool-down has passed, so an old text can never act on a new
    incident while the old one could still be answered.
    """

    phone = models.CharField(max_length=32)
    code = models.PositiveIntegerField()
    incident = models.ForeignKey(
        "paging.Incident", on_delete=models.CASCADE, related_name="sms_reply_codes"
    )
    engineer = models.ForeignKey(
        "oncall.Engineer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField()

    class Meta:
        ordering = ["phone", "code"]
        constraints = [
            models.UniqueConstraint(fields=["phone", "code"], name="uniq_sms_reply_code"),
            models.UniqueConstraint(fields=["phone", "incident"], name="uniq_sms_reply_incident"),
        ]

    def __str__(self) -> str:
        return f"{self.phone} code {self.code} -> incident {self.incident_id}"


class InboundSms(models.Model):
    """One SMS received on the Twilio webhook and what we made of it."""

    phone = models.CharField(max_length=32)
    body = models.CharField(max_length=320)
    message_sid = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=32)
    is_error = models.BooleanField(default=False)
    replied = models.BooleanField(default=False)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["phone", "received_at"], name="inbound_sms_phone_at")]
        constraints = [
            # Twilio retries a webhook it got no answer for: act on each SMS once.
            models.UniqueConstraint(
                fields=["message_sid"],
                condition=~models.Q(message_sid=""),
                name="uniq_inbound_sms_sid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.phone}: {self.body[:30]} ({self.outcome})"


class CallAction(models.Model):
    """The one action taken on a page call (Twilio retries or a replayed request with
    the same CallSid must not escalate twice)."""

    call_sid = models.CharField(max_length=64, unique=True)
    message = models.ForeignKey("paging.Message", on_delete=models.CASCADE, related_name="+")
    digit = models.CharField(max_length=1)
    said = models.TextField(blank=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.call_sid}: {self.digit}"
