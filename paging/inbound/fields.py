"""Small field readers shared by the inbound parsers.

Each reader takes the object, the key and a dotted path for messages, appends a
human-readable error to ``errors`` when the value is wrong and returns a safe value,
so one pass reports every problem in the body at once.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

# RFC 3339 as Alertmanager and Go write it: fraction up to nanoseconds, Z or offset.
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$"
)


class InvalidPayload(Exception):
    """The body is not an acceptable event; ``errors`` says why, one string per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def type_name(value: Any) -> str:
    """JSON's name for the type of a decoded value, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def read_str(
    obj: dict[str, Any],
    key: str,
    path: str,
    errors: list[str],
    *,
    required: bool = False,
    max_length: int | None = None,
    default: str = "",
) -> str:
    """A string field; absent or null is ``default`` (or an error when required)."""
    value = obj.get(key)
    if value is None:
        if required:
            errors.append(f"'{path}' is missing or blank")
        return default
    if not isinstance(value, str):
        errors.append(f"'{path}' must be a string, not {type_name(value)}")
        return default
    if required and not value.strip():
        errors.append(f"'{path}' is missing or blank")
        return default
    if max_length is not None and len(value) > max_length:
        errors.append(f"'{path}' is too long ({len(value)} characters, at most {max_length})")
        return value[:max_length]
    return value


def read_object(
    obj: dict[str, Any], key: str, path: str, errors: list[str], *, required: bool = False
) -> dict[str, Any]:
    """A JSON object field; absent or null is {} (or an error when required)."""
    value = obj.get(key)
    if value is None:
        if required:
            errors.append(f"'{path}' is missing")
        return {}
    if not isinstance(value, dict):
        errors.append(f"'{path}' must be an object, not {type_name(value)}")
        return {}
    return value


def read_str_map(obj: dict[str, Any], key: str, path: str, errors: list[str]) -> dict[str, str]:
    """An object whose values must all be strings (Alertmanager labels, annotations)."""
    value = read_object(obj, key, path, errors)
    for name, item in value.items():
        if not isinstance(item, str):
            errors.append(f"'{path}.{name}' must be a string, not {type_name(item)}")
            return {}
    return value


def parse_timestamp(value: str) -> datetime | None:
    """An RFC 3339 / ISO 8601 timestamp as an aware UTC datetime, or None if unreadable.

    Accepts nanosecond fractions (Go writes them; Python keeps microseconds) and
    treats a timestamp without offset as UTC.
    """
    match = _RFC3339.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=UTC
        )
    except ValueError:
        return None
    if sign:
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        if offset > timedelta(hours=23, minutes=59):
            return None
        try:
            moment = moment - offset if sign == "+" else moment + offset
        except OverflowError:
            return None
    return moment


def read_timestamp(
    obj: dict[str, Any], key: str, path: str, errors: list[str]
) -> tuple[datetime | None, str]:
    """An optional timestamp field: (parsed UTC datetime or None, the string as sent)."""
    text = read_str(obj, key, path, errors)
    if not text:
        return None, ""
    moment = parse_timestamp(text)
    if moment is None:
        errors.append(f"'{path}' is not an RFC 3339 timestamp: {text[:64]!r}")
    return moment, text


def read_links(
    obj: dict[str, Any], key: str, path: str, errors: list[str], *, url_key: str = "href"
) -> list[dict[str, str]]:
    """A list of {href, text} objects (PagerDuty ``links``, webhook ``links``)."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        errors.append(f"'{path}' must be an array, not {type_name(value)}")
        return []
    links: list[dict[str, str]] = []
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        if not isinstance(item, dict):
            errors.append(f"'{item_path}' must be an object, not {type_name(item)}")
            continue
        href = read_str(item, url_key, f"{item_path}.{url_key}", errors, required=True)
        text = read_str(item, "text", f"{item_path}.text", errors, max_length=1024)
        if href:
            links.append({"href": href, "text": text})
    return links
