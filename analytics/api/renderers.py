"""The Markdown renderer (post-incident reviews). CSV: ``oncall.api.renderers``."""

from __future__ import annotations

from typing import Any

from rest_framework.renderers import BaseRenderer


class MarkdownRenderer(BaseRenderer):
    media_type = "text/markdown"
    format = "md"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: dict[str, Any] | None = None,
    ) -> bytes:
        if isinstance(data, dict):
            text = data.get("markdown") or "\n".join(f"{k}: {v}" for k, v in data.items())
        else:
            text = str(data)
        return text.encode(self.charset)
