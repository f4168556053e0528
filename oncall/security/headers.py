"""Headers on every dynamic response: Permissions-Policy, and ``Cache-Control: no-store``
unless the view chose its own caching.

Pages here show tokens (the admin, token endpoints), signed ack forms and private
incident data; none is worth a shared or browser cache keeping a copy. The CSP itself
comes from django-csp (``CONTENT_SECURITY_POLICY``), HSTS from Django's
SecurityMiddleware. Static files are answered by WhiteNoise before this middleware.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_cache_control


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        if "Cache-Control" not in response.headers:
            patch_cache_control(response, no_store=True)
        return response
