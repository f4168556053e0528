"""`manage.py oncall_apply FILE.yaml [--dry-run] [--prune] [--effective WHEN]`: declare
on-call config as code."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

from oncall.audit.actors import Kind, audit_actor
from oncall.config.apply import ApplyResult, config_apply
from oncall.config.registry import ConfigError


class Command(BaseCommand):
    help = (
        "Apply a YAML config file (teams, engineers, contact methods, notification rules, and"
        " the sections other apps register) idempotently, in one transaction."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="path of the YAML file")
        parser.add_argument(
            "--dry-run", action="store_true", help="print the plan and change nothing"
        )
        parser.add_argument(
            "--prune",
            action="store_true",
            help="delete objects that are in the database but not in the file",
        )
        parser.add_argument(
            "--effective",
            default="now",
            metavar="WHEN",
            help="when the whole file takes effect: 'now' (default, the apply's start), an"
            " ISO 8601 time with offset (e.g. 2026-12-01T09:00:00+01:00; never in the past), or"
            " 'next-handoff': layer edits wait for each layer's next handoff",
        )

    def handle(
        self, *args: Any, file: str, dry_run: bool, prune: bool, effective: str, **options: Any
    ) -> None:
        next_handoff = effective.strip().lower() == "next-handoff"
        effective_at = None if next_handoff else _effective_option(effective)
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"{file}: cannot read: {exc.strerror or exc}") from None
        try:
            with audit_actor(Kind.CONFIG, f"config file {file} via oncall_apply"):
                result = config_apply(
                    file=file,
                    text=text,
                    dry_run=dry_run,
                    prune=prune,
                    effective_at=effective_at,
                    next_handoff=next_handoff,
                )
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
        if options.get("verbosity", 1) >= 1:
            self._report(result, file=file, dry_run=dry_run)

    def _report(self, result: ApplyResult, *, file: str, dry_run: bool) -> None:
        if dry_run:
            self.stdout.write(f"Plan for {file} (dry run, nothing changed):")
        if result.applied and result.effective_at is not None:
            when = result.effective_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
            self.stdout.write(f"Effective at {when} (every change in the file).")
        for change in result.applied:
            self.stdout.write(f"  {change}")
        counts = result.counts()
        if not result.applied:
            self.stdout.write("No changes.")
        elif dry_run:
            self.stdout.write(
                f"Would apply: {counts['create']} to create, {counts['update']} to update,"
                f" {counts['delete']} to delete."
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Applied: {counts['create']} created, {counts['update']} updated,"
                    f" {counts['delete']} deleted."
                )
            )
        if result.missing:
            self.stdout.write(
                self.style.WARNING(
                    f"{len(result.missing)} object(s) in the database are not in the file"
                    " (kept; run with --prune to delete them):"
                )
            )
            for change in result.missing:
                self.stdout.write(f"  {change}")


def _effective_option(raw: str) -> datetime | None:
    """``--effective``: None for now (config_apply takes its own start), else an aware time."""
    if raw.strip().lower() == "now":
        return None
    try:
        value = parse_datetime(raw.strip())
    except ValueError:
        value = None
    if value is None:
        raise CommandError(
            f"--effective: {raw!r} is not 'now', 'next-handoff' or an ISO 8601 date-time"
        )
    if value.tzinfo is None:
        raise CommandError(f"--effective: {raw!r} needs a UTC offset (e.g. Z or +01:00)")
    return value
