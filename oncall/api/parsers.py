"""The API's request parsers: DRF's, with JSON numbers limited to finite values."""

from __future__ import annotations

import codecs
import math
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser, get_encoding
from rest_framework.settings import api_settings
from rest_framework.utils import json


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        # 1e999 decodes to inf (not JSON): ids and numbers then overflow deep down (a 500).
        raise ValueError(f"number {text} is out of range")
    return value


class FiniteJSONParser(JSONParser):
    """Refuses numbers that overflow a float (1e999), as it refuses NaN and Infinity."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = get_encoding(parser_context or {})
        try:
            return json.load(
                codecs.getreader(encoding)(stream),
                parse_constant=json.strict_constant if api_settings.STRICT_JSON else None,
                parse_float=_finite_float,
            )
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


API_PARSERS = [FiniteJSONParser, FormParser, MultiPartParser]
