"""Reading an inbound request body: size limit, JSON decoding, values a database can store.

The limit is ``settings.INBOUND_MAX_BODY_BYTES`` (default 512 KiB). It is enforced on
the Content-Length header *and* on the bytes actually read, and the body is read from
the request stream directly, so Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (which would
answer 400 instead of 413) never applies to these endpoints.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from django.conf import settings
from django.http import HttpRequest

# The API's limit (one for every JSON body): deeper is not an alert either.
from oncall.api.params import MAX_ID
from oncall.api.parsers import MAX_JSON_DEPTH


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is larger than {limit} bytes")
        self.limit = limit


class BodyInvalid(Exception):
    """The body is not a JSON object we can store; the message says why."""


def max_body_bytes() -> int:
    return settings.INBOUND_MAX_BODY_BYTES


def body_read(request: HttpRequest) -> bytes:
    """The raw body, at most ``max_body_bytes()`` long, or BodyTooLarge."""
    limit = max_body_bytes()
    header = request.META.get("CONTENT_LENGTH") or ""
    try:
        declared = int(header) if header else None
    except ValueError:
        raise BodyInvalid("Content-Length header is not a number") from None
    if declared is not None and declared > limit:
        raise BodyTooLarge(limit)
    environ = getattr(request, "environ", {})
    if declared is None and environ.get("wsgi.input_terminated"):
        # Chunked upload through a server that de-chunks (gunicorn): Django's stream
        # is limited to Content-Length (absent = 0), so read the WSGI input itself.
        data = environ["wsgi.input"].read(limit + 1)
    else:
        # request.read(), not request.body: .body applies DATA_UPLOAD_MAX_MEMORY_SIZE.
        data = request.read(limit + 1)
    if len(data) > limit:
        raise BodyTooLarge(limit)
    return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def json_object_decode(data: bytes) -> dict[str, Any]:
    """Decode a JSON object from ``data``; BodyInvalid says what is wrong."""
    if not data.strip():
        raise BodyInvalid("the request body is empty; a JSON object is required")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyInvalid(f"the body is not UTF-8 (byte {exc.start})") from None
    try:
        # NaN/Infinity are not JSON and PostgreSQL's jsonb refuses them.
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise BodyInvalid("the body is nested too deeply") from None
    except ValueError as exc:
        raise BodyInvalid(f"the body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        kind = "an array" if isinstance(value, list) else "not an object"
        raise BodyInvalid(f"the body must be a JSON object, it is {kind}")
    problem = "" if _surely_storable(text) else _unstorable(value)
    if problem:
        raise BodyInvalid(problem)
    return value


# What in a JSON text can make a decoded value unstorable (see ``_unstorable``): a NUL or
# a lone surrogate can only come from a \u escape (strict UTF-8 decoding and json.loads
# refuse the raw ones), a number beyond 64 bits needs 19 digits in a row, an infinite
# float a three-digit exponent (or 19+ digits).
_SUSPECT = re.compile(r"\\u(?:0000|[dD][89a-fA-F])|\d{19}|[eE][+-]?\d{3}")


def _surely_storable(text: str) -> bool:
    """True when the text cannot hold what ``_unstorable`` looks for: no suspect pattern
    and fewer brackets than the depth limit. A cheap look at the text that spares the
    walk of every value for a usual alert message; anything else is walked."""
    brackets = text.count("{") + text.count("[")
    return brackets <= MAX_JSON_DEPTH and _SUSPECT.search(text) is None


def _unstorable(value: Any) -> str:
    """Why ``value`` cannot be stored as text/jsonb, or "" when it can.

    PostgreSQL refuses NUL characters in text and jsonb, and lone UTF-16 surrogates
    (``"\\ud800"``) cannot be encoded to UTF-8: both would fail at INSERT time.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return f"the body is nested more than {MAX_JSON_DEPTH} levels deep"
        if isinstance(item, dict):
            for key, child in item.items():
                stack.append((key, depth + 1))
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            if "\x00" in item:
                return "strings must not contain NUL (\\u0000) characters"
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "strings must not contain unpaired surrogates (e.g. \\ud800)"
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_ID:
            # jsonb stores numbers as numeric, fine; but a key or value this large
            # is not something an alert source sends and bigint columns refuse it.
            return "numbers must fit in 64 bits"
        elif isinstance(item, float) and not math.isfinite(item):
            # 1e999 decodes to inf, which is not JSON: jsonb (and SQLite's JSON_VALID) refuse it.
            return "numbers must be finite (1e999 and the like overflow to infinity)"
    return ""
