"""Apply a config file to the database, and export the database as a config file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from oncall.config.loader import config_dump, config_parse, load_sections
from oncall.config.registry import SECTIONS, ApplyContext, Change, ConfigError, sections_in_order

HEADER = "# On-call configuration, written by `manage.py oncall_export`.\n"
# An --effective a little in the past (typed a minute ago) is still accepted; as for
# edits through the API, anything earlier would rewrite history.
EFFECTIVE_PAST_TOLERANCE = timedelta(minutes=5)


@dataclass
class ApplyResult:
    changes: list[Change] = field(default_factory=list)
    dry_run: bool = False
    effective_at: datetime | None = None

    @property
    def applied(self) -> list[Change]:
        """What changes (or, on a dry run, would change) in the database."""
        return [c for c in self.changes if c.action != "missing"]

    @property
    def missing(self) -> list[Change]:
        """Rows in the database that the file does not mention (kept; --prune removes them)."""
        return [c for c in self.changes if c.action == "missing"]

    def counts(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "delete": 0, "missing": 0}
        for change in self.changes:
            counts[change.action] += 1
        return counts


def config_apply(
    *,
    file: str,
    text: str,
    dry_run: bool = False,
    prune: bool = False,
    effective_at: datetime | None = None,
    next_handoff: bool = False,
) -> ApplyResult:
    """Apply every section in the file in one transaction; any error changes nothing.

    ``file`` names the file in error messages. Sections absent from the file are not touched.
    On a dry run the transaction is rolled back after the plan is recorded. Every change
    takes effect at ``effective_at`` (default: now, when the apply starts).
    ``next_handoff``: layer edits take effect at each layer's next handoff after that.
    """
    now = timezone.now()
    if effective_at is None:
        effective_at = now
    elif timezone.is_naive(effective_at):
        raise ConfigError(file, "--effective", "must include a UTC offset (e.g. Z)")
    elif effective_at < now - EFFECTIVE_PAST_TOLERANCE:
        raise ConfigError(file, "--effective", "cannot be in the past: edits never rewrite it")
    load_sections()
    document = config_parse(file=file, text=text)
    for key in document:
        if key not in SECTIONS:
            known = ", ".join(s.key for s in sections_in_order())
            raise ConfigError(file, str(key), f"unknown section (known sections: {known})")
    ctx = ApplyContext(
        file=file,
        prune=prune,
        dry_run=dry_run,
        effective_at=effective_at,
        next_handoff=next_handoff,
    )
    current = "(document)"
    try:
        with transaction.atomic():
            for section in sections_in_order():
                if section.key in document:
                    current = section.key
                    section.apply(document[section.key], ctx)
            if dry_run:
                transaction.set_rollback(True)
    except ValidationError as exc:
        # A section that let a model error through: still name the file and the section.
        raise ConfigError(file, current, "; ".join(exc.messages)) from None
    except IntegrityError as exc:
        raise ConfigError(file, current, f"conflicts with the database: {exc}") from None
    return ApplyResult(changes=ctx.changes, dry_run=dry_run, effective_at=effective_at)


def config_export() -> dict[str, Any]:
    """The current state as a document that ``config_apply`` accepts."""
    load_sections()
    return {section.key: section.export() for section in sections_in_order()}


def config_export_text() -> str:
    return HEADER + config_dump(config_export())
