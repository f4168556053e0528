"""Rotating an integration's secret token: the one write path (admin action and API).

The old token stops working at once in every process: this process' integration cache
is cleared when the row is saved (``paging/inbound/integrations.py``), and another
process that still holds the old entry for up to 5 s finds, in its ingest transaction,
that the integration no longer has that token (``IntegrationGone``) and answers 404
(``/v2/enqueue``: 400 "Invalid routing key"). The token is never logged.
"""

from __future__ import annotations

import logging

from django.db import transaction

from oncall.audit.services import audit_record
from paging.models import Integration
from paging.models.services import new_integration_token

logger = logging.getLogger(__name__)


def integration_token_rotate(*, integration_id: int, actor_id: int | None = None) -> Integration:
    """Give the integration a new token; ``actor_id`` is the user who asked (for the
    audit trail)."""
    with transaction.atomic():
        integration = Integration.objects.select_for_update().get(pk=integration_id)
        old = integration.token
        integration.token = new_integration_token()
        integration.save(update_fields=["token"])
        # The audit masks tokens to their last 4 characters.
        audit_record("rotate_token", integration, changes={"token": (old, integration.token)})
    logger.info(
        "integration %s token rotated by user %s (now ends …%s)",
        integration.pk,
        actor_id,
        integration.token[-4:],
    )
    return integration
