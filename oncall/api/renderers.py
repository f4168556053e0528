"""The browsable API under the Content-Security-Policy.

DRF's browsable pages carry an inline ``<style>`` (code highlighting) and their jQuery
runs an inline event handler; on these pages only, those two are allowed. Every other
page keeps the strict policy (``CONTENT_SECURITY_POLICY``); JSON answers are unaffected.
"""

from __future__ import annotations

from typing import Any

from rest_framework.renderers import BrowsableAPIRenderer

RELAXED = {"style-src": ["'unsafe-inline'"], "script-src-attr": ["'unsafe-inline'"]}


class CspBrowsableAPIRenderer(BrowsableAPIRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: dict[str, Any] | None = None,
    ) -> Any:
        response = (renderer_context or {}).get("response")
        if response is not None:
            response._csp_update = RELAXED  # read by django-csp's middleware
        return super().render(data, accepted_media_type, renderer_context)
