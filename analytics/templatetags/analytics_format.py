"""One unit per view on the dashboard: durations in minutes with one decimal, rates as
percentages, an em dash where there is no data."""

from __future__ import annotations

from django import template

register = template.Library()

NO_DATA = "—"


@register.filter
def minutes(seconds: float | None) -> str:
    """Seconds as minutes with one decimal (``200`` -> ``3.3``)."""
    return NO_DATA if seconds is None else f"{seconds / 60:.1f}"


@register.filter
def percent(fraction: float | None) -> str:
    """A 0–1 rate as a percentage (``0.6667`` -> ``66.7%``; whole numbers without ``.0``)."""
    if fraction is None:
        return NO_DATA
    value = round(fraction * 100, 1)
    return f"{value:.0f}%" if value == int(value) else f"{value:.1f}%"


@register.filter
def hours(value: float | None) -> str:
    return NO_DATA if value is None else f"{value:.1f}"
