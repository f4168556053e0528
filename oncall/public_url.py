"""Absolute URLs for links that leave this service: pages, sign-in and swap links, feeds,
webhook URLs shown to admins, Twilio callbacks (and the URL Twilio signs)."""

from __future__ import annotations

from django.conf import settings


def public_url(path: str = "/") -> str:
    """``PUBLIC_BASE_URL`` + ``path``, an absolute path (e.g. from ``reverse``)."""
    return settings.PUBLIC_BASE_URL.rstrip("/") + path
