"""The DRF throttle for signed-in API use: ``API_THROTTLE_RATE`` per user (default
1200/min), counted in the cache (Redis in production, so all workers share it).
Anonymous API requests are refused by authentication before they cost anything.

The throttle fails open: with Redis down the API keeps answering (unthrottled, logged
at most once a minute per process), as it does for the broker's other outages.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

logger = logging.getLogger(__name__)

_last_warning = 0.0


class AuthenticatedApiThrottle(UserRateThrottle):
    scope = "api_user"

    def get_rate(self) -> str | None:
        # From the settings in force now (DRF copies the rates once, at import).
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request: Any, view: Any) -> bool:
        global _last_warning
        try:
            return super().allow_request(request, view)
        except Exception as exc:  # the cache (Redis) is unreachable: serve, say so
            now = time.monotonic()
            if now - _last_warning > 60:
                _last_warning = now
                logger.warning("API throttle skipped: the cache is unreachable (%r)", exc)
            return True
