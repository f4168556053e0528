"""API tokens (DRF ``authtoken``): one per user."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from rest_framework.authtoken.models import Token

from oncall.audit.services import audit_record


def user_token_get(*, user: User) -> Token:
    """The user's API token, issued the first time it is asked for (recorded like a
    rotation from none)."""
    with transaction.atomic():
        token, created = Token.objects.get_or_create(user=user)
        if created:
            audit_record("api_token_rotate", user, changes={"api_token": (None, token.key)})
        return token


def user_token_rotate(*, user: User) -> Token:
    """Replace the user's API token: the old one stops working at once."""
    with transaction.atomic():
        old = Token.objects.filter(user=user).values_list("key", flat=True).first()
        Token.objects.filter(user=user).delete()
        token = Token.objects.create(user=user)
        audit_record("api_token_rotate", user, changes={"api_token": (old, token.key)})
        return token
