"""Renderers every app's API uses: the browsable API under the Content-Security-Policy,
and CSV (``?format=csv`` or ``Accept: text/csv``; analytics, the audit trail).

In the browsable API, DRF's pages carry an inline ``<style>`` (code highlighting) and their jQuery
runs an inline event handler; on these pages only, those two are allowed. Every other
page keeps the strict policy (``CONTENT_SECURITY_POLICY``); JSON answers are unaffected.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer

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


def flatten(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"mtta": {"p50": 1}}`` -> ``{"mtta_p50": 1}``."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, prefix=f"{name}_"))
        else:
            out[name] = value
    return out


class CSVRenderer(BaseRenderer):
    """Renders the ``rows`` of an analytics answer (errors: their fields) as CSV."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: dict[str, Any] | None = None,
    ) -> bytes:
        if isinstance(data, dict) and "rows" in data:
            rows = [flatten(r) for r in data["rows"]]
        elif isinstance(data, dict):
            rows = [{"field": k, "error": v} for k, v in flatten(data).items()]
        else:
            rows = [flatten(r) for r in data or []]
        header: list[str] = []
        for row in rows:
            header += [k for k in row if k not in header]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\r\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
        response = (renderer_context or {}).get("response")
        view = (renderer_context or {}).get("view")
        if response is not None and response.status_code == 200 and view is not None:
            name = getattr(view, "csv_name", "analytics")
            response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return buf.getvalue().encode(self.charset)
