"""`manage.py audit_verify`: check the audit trail's hash chain from its first entry."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oncall.audit.chain import chain_verify


class Command(BaseCommand):
    help = (
        "Walk the audit trail's hash chain; report the first altered, inserted or deleted"
        " entry (exit 1), or 'ok N entries' and the head to keep elsewhere."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--head",
            metavar="SEQ:HASH",
            help="a head printed by an earlier run: fail unless that entry is still in the"
            " chain unchanged (finds entries deleted from the end, or a rewritten chain)",
        )

    def handle(self, *args: Any, head: str | None = None, **options: Any) -> None:
        result = chain_verify()
        if result.problem is not None:
            raise CommandError(f"audit trail broken at {result.problem}")
        if head:
            self._check_head(head, result.head_seq)
        self.stdout.write(f"ok {result.count} entries (head #{result.head_seq} {result.head_hash})")

    def _check_head(self, head: str, last_seq: int) -> None:
        from oncall.audit.models import AuditEntry

        seq_text, _, hash_ = head.partition(":")
        if not seq_text.isdigit() or len(hash_) != 64:
            raise CommandError(f"--head: expected SEQ:HASH (64 hex digits), got {head!r}")
        seq = int(seq_text)
        if seq > last_seq:
            raise CommandError(
                f"audit trail broken: entry #{seq} is gone (the chain ends at #{last_seq})"
            )
        if not AuditEntry.objects.filter(seq=seq, hash=hash_).exists():
            raise CommandError(f"audit trail broken: entry #{seq} no longer has hash {hash_}")
