"""What the web-push channel keeps: each browser's push subscription (RFC 8030, RFC 8291).

A subscription is longer than a contact method's value (a push service's endpoint URL
alone can pass 254 characters), so it lives here and a ``webpush`` contact method's
value is its ``ref``: the push service's host and a digest of the endpoint
(``fcm.googleapis.com/3f9a2c41b7d0e5f1a2b3``), readable on /me/ and on the timeline.
"""

from __future__ import annotations

from django.db import models


class WebPushSubscription(models.Model):
    """Where a browser receives pushes and the keys a message is encrypted to.

    It belongs to the browser, not to a person: two engineers signed in one after the
    other in the same browser get the same subscription (one row, two contact methods).
    The keys are public; the endpoint is a capability only with our VAPID private key.
    """

    # The contact method's value: "<push service host>/<20 hex digits of sha256(endpoint)>".
    ref = models.CharField(max_length=254, unique=True)
    endpoint = models.URLField(max_length=2048)
    # The browser's P-256 public key (65 bytes) and auth secret (16 bytes), base64url.
    p256dh = models.CharField(max_length=100)
    auth = models.CharField(max_length=32)
    # The browser that subscribed, as it said (for people telling their devices apart).
    user_agent = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["ref"]

    def __str__(self) -> str:
        return f"push subscription {self.ref}"
