"""Percentiles in Python for databases without ``percentile_cont`` (SQLite).

Same definition as PostgreSQL's percentile_cont: linear interpolation between the
values at ranks floor(h) and ceil(h), h = (n - 1) * fraction, over sorted values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile_cont(sorted_values: Sequence[float], fraction: float) -> float | None:
    if not sorted_values:
        return None
    h = (len(sorted_values) - 1) * fraction
    lo, hi = math.floor(h), math.ceil(h)
    low = sorted_values[lo]
    return low + (sorted_values[hi] - low) * (h - lo)
