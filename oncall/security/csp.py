"""django-csp's middleware, with the settings' policy built once instead of per response.

django-csp builds the header from ``CONTENT_SECURITY_POLICY`` twice for every response
(the policy and the report-only one, each through ``dataclasses.asdict``): about a
tenth of an inbound alert request's CPU. A response that asks for nothing of its own (no
``csp_update``/``csp_replace``/``csp_override``, no nonce) gets the same header every
time, so it is built when first needed and again only when the setting changes (tests'
``override_settings``). Anything else goes through django-csp unchanged.
"""

from __future__ import annotations

import functools
import http.client
from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase

# What a view or decorator sets on a response to change its policy (django-csp).
_PER_RESPONSE = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)
_SETTINGS = {
    HEADER: ("CONTENT_SECURITY_POLICY", "_csp_exempt"),
    HEADER_REPORT_ONLY: ("CONTENT_SECURITY_POLICY_REPORT_ONLY", "_csp_exempt_ro"),
}


@functools.cache
def settings_policies() -> dict[str, str]:
    """Header -> value of the policies in settings (empty value: not set)."""
    return {HEADER: build_policy(), HEADER_REPORT_ONLY: build_policy(report_only=True)}


@receiver(setting_changed)
def _policies_forget(*, setting: str, **_: Any) -> None:
    if setting in ("CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY"):
        settings_policies.cache_clear()


class CSPMiddleware(DjangoCSPMiddleware):
    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        own = any(getattr(response, name, None) is not None for name in _PER_RESPONSE)
        if own or getattr(request, "_csp_nonce", None) is not None:
            return super().process_response(request, response)
        debug_page = response.status_code in (
            http.client.INTERNAL_SERVER_ERROR,
            http.client.NOT_FOUND,
        )
        if debug_page and settings.DEBUG:
            return response
        for header, value in settings_policies().items():
            setting, exempt = _SETTINGS[header]
            if not value or header in response or getattr(response, exempt, False) is not False:
                continue
            prefixes = getattr(settings, setting).get("EXCLUDE_URL_PREFIXES") or ()
            if not request.path_info.startswith(tuple(prefixes)):
                response[header] = value
        # As django-csp: a nonce asked for after the header is written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response
