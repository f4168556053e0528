"""API tokens (DRF ``authtoken``): one per user."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from rest_framework.authtoken.models import Token


def user_token_rotate(*, user: AbstractBaseUser) -> Token:
    """Replace the user's API token: the old one stops working at once."""
    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user)
