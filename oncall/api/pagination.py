"""The one pagination of every API collection (``DEFAULT_PAGINATION_CLASS``).

``?limit=`` above ``MAX_PAGE_SIZE`` (``limit=10**20`` too) and ``offset`` past
``MAX_OFFSET`` are refused with a 400 naming the parameter: a caller asking for more than
a page gets told, rather than silently less. Never an overflow (a 500).
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

MAX_PAGE_SIZE = 500
# Past any real table; keeps OFFSET inside a 64-bit integer on every database.
MAX_OFFSET = 10**12


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    max_limit = MAX_PAGE_SIZE

    def get_offset(self, request: Request) -> int:
        raw = request.query_params.get(self.offset_query_param)
        if raw is not None and len(raw) > 20:
            raise ValidationError({self.offset_query_param: "not a number this API takes"})
        offset = super().get_offset(request)
        if offset > MAX_OFFSET:
            raise ValidationError({self.offset_query_param: f"must be at most {MAX_OFFSET}"})
        return offset

    def get_limit(self, request: Request) -> Any:
        raw = (request.query_params.get(self.limit_query_param) or "").strip()
        # Digits only and at most 20 of them before int(): 4,300+ digits make int() raise.
        if raw.isdigit() and (len(raw) > 20 or int(raw) > self.max_limit):
            raise ValidationError({self.limit_query_param: f"must be at most {self.max_limit}"})
        return super().get_limit(request)
