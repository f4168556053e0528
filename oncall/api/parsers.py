"""The one JSON parser of every API view (``REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]``).

DRF's JSONParser, bounded: a body over ``API_MAX_BODY_BYTES``, nested deeper than
``MAX_JSON_DEPTH`` (5,000 levels used to escape as a RecursionError, a 500), or with a
number that overflows a float (1e999) answers 400 naming the problem.
"""

from __future__ import annotations

import codecs
import math
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError

# get_encoding: a helper DRF exports, missing from its stubs.
from rest_framework.parsers import JSONParser, get_encoding  # type: ignore[attr-defined]
from rest_framework.settings import api_settings
from rest_framework.utils import json

# Far deeper than any body this API takes (a policy with steps and targets is 4).
MAX_JSON_DEPTH = 64


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        # 1e999 decodes to inf (not JSON): ids and numbers then overflow deep down (a 500).
        raise ValueError(f"number {text} is out of range")
    return value


def json_depth(value: Any, *, limit: int) -> int:
    """The nesting depth of ``value``, counting up to ``limit + 1`` at most (no recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return deepest


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.API_MAX_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise ParseError(f"body: larger than {limit} bytes")
        encoding = get_encoding(parser_context or {})
        try:
            text = codecs.decode(raw, encoding)
            value = json.loads(
                text,
                parse_constant=json.strict_constant if api_settings.STRICT_JSON else None,
                parse_float=_finite_float,
            )
        except RecursionError:
            raise ParseError(f"body: nested more than {MAX_JSON_DEPTH} levels deep") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if json_depth(value, limit=MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
            raise ParseError(f"body: nested more than {MAX_JSON_DEPTH} levels deep")
        return value
