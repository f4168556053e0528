"""Finding the integration of an inbound request by its token, with a short cache.

The lookup (integration + service, one query) costs about as much CPU as a fifth of a
whole ingest, and alert sources post to the same few tokens all day, so each process
keeps found integrations for ``TTL_SECONDS``. Saving or deleting an Integration or a
Service clears this process' cache at once. A deleted or rotated token stops working in
every process at once all the same: the ingest transaction confirms the integration
still has that token (``paging/ingest.py``, ``IntegrationGone``), and the view answers
404 and forgets the entry. Other changes (a changed urgency rule or policy) reach the
other processes within TTL_SECONDS. Unknown tokens are never cached, so random tokens
cannot fill memory.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from paging.models import Integration, Service

TTL_SECONDS = 5.0
MAX_ENTRIES = 1024
TOKEN_MAX = 64

_cache: dict[tuple[str, str], tuple[float, Integration]] = {}
_lock = threading.Lock()


def integration_for_token(token: Any, kind: str) -> Integration | None:
    """The integration of this kind with this token (service loaded), or None."""
    if not isinstance(token, str) or not token or len(token) > TOKEN_MAX:
        return None
    key = (token, kind)
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    integration = (
        Integration.objects.select_related("service")
        .filter(token=token, kind=kind)
        .order_by()  # unique token: no need for the model's joined ordering
        .first()
    )
    if integration is not None:
        with _lock:
            if len(_cache) >= MAX_ENTRIES:
                _cache.clear()
            _cache[key] = (now + TTL_SECONDS, integration)
    return integration


def integration_forget(token: str, kind: str) -> None:
    """Drop one entry (its integration turned out to be deleted or rotated)."""
    with _lock:
        _cache.pop((token, kind), None)


def integration_cache_clear() -> None:
    with _lock:
        _cache.clear()


@receiver(post_save, sender=Integration, dispatch_uid="inbound_integration_saved")
@receiver(post_delete, sender=Integration, dispatch_uid="inbound_integration_deleted")
@receiver(post_save, sender=Service, dispatch_uid="inbound_service_saved")
@receiver(post_delete, sender=Service, dispatch_uid="inbound_service_deleted")
def _integration_changed(**_: Any) -> None:
    integration_cache_clear()
