"""The DRF throttle for signed-in API use: ``API_THROTTLE_RATE`` per user (default
1200/min), counted in the cache (Redis in production, so all workers share it).
Anonymous API requests are refused by authentication before they cost anything."""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle


class AuthenticatedApiThrottle(UserRateThrottle):
    scope = "api_user"

    def get_rate(self) -> str | None:
        # From the settings in force now (DRF copies the rates once, at import).
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
