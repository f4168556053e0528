"""Typed readers for environment variables.

Every reader raises ``ImproperlyConfigured`` naming the variable when its value is
malformed, so a typo stops start-up instead of silently changing behaviour.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"true", "1", "yes", "on"}
FALSE_WORDS = {"false", "0", "no", "off"}


def env_str(name: str, default: str = "", environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    return environ.get(name, default).strip()


def env_bool(name: str, default: bool, environ: Mapping[str, str] | None = None) -> bool:
    raw = env_str(name, "", environ).lower()
    if raw == "":
        return default
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    raw = env_str(name, "", environ)
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str], environ: Mapping[str, str] | None = None) -> list[str]:
    raw = env_str(name, "", environ)
    if raw == "":
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_url(
    name: str,
    default: str = "",
    *,
    schemes: tuple[str, ...] = ("http", "https"),
    environ: Mapping[str, str] | None = None,
) -> str:
    """A URL with one of ``schemes`` and a host; trailing slashes are stripped."""
    raw = env_str(name, default, environ)
    if raw == "":
        return ""
    parsed = urlparse(raw)
    if parsed.scheme not in schemes or not parsed.netloc:
        raise ImproperlyConfigured(
            f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)}"
            f" and naming a host, got {raw!r}"
        )
    return raw.rstrip("/")


def env_int_map(
    name: str,
    default: dict[str, int] | None,
    *,
    minimum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, int] | None:
    """``key:number`` pairs, comma-separated (``sms:5,voice:3``); ``none`` is no pairs."""
    raw = env_str(name, "", environ)
    if raw == "":
        return None if default is None else dict(default)
    if raw.lower() == "none":
        return {}
    pairs: dict[str, int] = {}
    for item in (part.strip() for part in raw.split(",")):
        key, sep, number = (side.strip() for side in item.partition(":"))
        if not key or not sep or not number.lstrip("-").isdigit():
            raise ImproperlyConfigured(
                f"{name} must be key:number pairs separated by commas (e.g. sms:5,voice:3),"
                f" got {raw!r}"
            )
        if minimum is not None and int(number) < minimum:
            raise ImproperlyConfigured(f"{name}: {key} must be at least {minimum}, got {number}")
        pairs[key] = int(number)
    return pairs


def env_hours(
    name: str, default: tuple[int, int], environ: Mapping[str, str] | None = None
) -> tuple[int, int]:
    """``START-END`` in whole hours of the day, ``0 <= START < END <= 24`` (``8-18``)."""
    raw = env_str(name, "", environ)
    if raw == "":
        return default
    start, sep, end = (side.strip() for side in raw.partition("-"))
    if not (sep and start.isdigit() and end.isdigit() and 0 <= int(start) < int(end) <= 24):
        raise ImproperlyConfigured(
            f"{name} must be START-END in whole hours, 0 <= START < END <= 24 (e.g. 8-18),"
            f" got {raw!r}"
        )
    return int(start), int(end)
