"""Template filters for datetimes that name their zone: ``{{ at|local:tz }}``."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.html import format_html

from oncall.timefmt import local_text

register = template.Library()


def _time_tag(instant: datetime | None, tz_name: str | None, seconds: bool) -> str:
    if instant is None:
        return "—"
    # The IANA name in a tooltip, the abbreviation in the text.
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        instant.isoformat(),
        tz_name or "UTC",
        local_text(instant, tz_name, seconds=seconds),
    )


@register.filter
def local(instant: datetime | None, tz_name: str | None = None) -> str:
    return _time_tag(instant, tz_name, seconds=False)


@register.filter
def local_seconds(instant: datetime | None, tz_name: str | None = None) -> str:
    return _time_tag(instant, tz_name, seconds=True)
