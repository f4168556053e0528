"""Per-request database settings for analytics reads."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, transaction

F = TypeVar("F", bound=Callable[..., Any])
_MEMORY = re.compile(r"^\d{1,6}(kB|MB|GB)$")


@contextmanager
def analytics_session() -> Iterator[None]:
    """A transaction whose sorts (percentiles, GROUP BY) get more memory on PostgreSQL.

    The default work_mem (4 MB) spills a 90-day percentile sort to disk; SET LOCAL
    lasts until the end of this transaction only. ANALYTICS_PG_WORK_MEM ("32MB").
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            work_mem = settings.ANALYTICS_PG_WORK_MEM
            if not _MEMORY.match(work_mem):
                raise ValueError("ANALYTICS_PG_WORK_MEM must look like 32MB")
            with connection.cursor() as cur:
                # Validated above: a literal is needed, SET takes no parameters.
                cur.execute(f"SET LOCAL work_mem = '{work_mem}'")
        yield


def in_analytics_session(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with analytics_session():
            return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
