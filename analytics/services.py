"""Writes of analytics' own settings (admin): SLA targets and the review template, each
recorded in the audit trail."""

from __future__ import annotations

from django.db import transaction

from analytics.models import ReviewTemplate, SlaTarget
from oncall.audit.services import audited_delete, audited_save


def sla_target_save(*, target: SlaTarget) -> SlaTarget:
    """Create or change an SLA target (new, or edited in memory by the admin's form)."""
    with transaction.atomic():
        return audited_save(target)


def sla_target_delete(*, target: SlaTarget) -> None:
    with transaction.atomic():
        audited_delete(target)


def review_template_save(*, template: ReviewTemplate) -> ReviewTemplate:
    with transaction.atomic():
        return audited_save(template)


def review_template_delete(*, template: ReviewTemplate) -> None:
    with transaction.atomic():
        audited_delete(template)
