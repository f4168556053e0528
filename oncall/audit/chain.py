"""The hash chain: each entry stores the SHA-256 of the entry before it.

``hash = sha256(prev_hash + canonical JSON of the entry's content)``. Appends are
serialized until commit (PostgreSQL: a transaction-scoped advisory lock; SQLite takes
its write lock at BEGIN, ``transaction_mode=IMMEDIATE``), so two writers never chain to
the same entry, and an entry never becomes visible before the one it points to.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection

from oncall.audit.models import AuditEntry

GENESIS = "0" * 64
# pg_advisory_xact_lock key: "audit" in ASCII.
LOCK_KEY = 0x6175646974


def canonical(entry: AuditEntry) -> bytes:
    """The content the hash covers, in one stable byte form."""
    content: dict[str, Any] = {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor_kind": entry.actor_kind,
        "actor_label": entry.actor_label,
        "actor_user": entry.actor_user_id,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "parent": entry.parent,
        "action": entry.action,
        "changes": entry.changes,
        "note": entry.note,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(entry.prev_hash.encode() + canonical(entry)).hexdigest()


def chain_lock() -> None:
    """Hold the right to append until this transaction ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def chain_append(entry: AuditEntry) -> AuditEntry:
    """Give ``entry`` its place and hashes, and insert it. Call inside a transaction."""
    chain_lock()
    head = AuditEntry.objects.order_by("-seq").only("seq", "hash").first()
    entry.seq = head.seq + 1 if head else 1
    entry.prev_hash = head.hash if head else GENESIS
    entry.hash = entry_hash(entry)
    entry.save(force_insert=True)
    return entry


@dataclass(frozen=True)
class Problem:
    seq: int
    entry_id: int | None
    text: str

    def __str__(self) -> str:
        where = f"entry #{self.seq}" + (f" (id {self.entry_id})" if self.entry_id else "")
        return f"{where}: {self.text}"


@dataclass(frozen=True)
class Verified:
    count: int
    head_seq: int
    head_hash: str
    problem: Problem | None


def _entries() -> Iterator[AuditEntry]:
    # Stable order even for a forged row that repeats a sequence number.
    return AuditEntry.objects.order_by("seq", "id").iterator(chunk_size=2000)


def chain_verify() -> Verified:
    """Walk the chain from the first entry; stop at the first altered, inserted or
    deleted one."""
    count = 0
    prev_seq, prev_hash = 0, GENESIS
    for entry in _entries():
        count += 1
        problem = None
        if entry.seq <= prev_seq:
            problem = f"inserted: repeats sequence number {entry.seq}"
        elif entry.seq > prev_seq + 1:
            missing = (
                f"#{prev_seq + 1}"
                if entry.seq == prev_seq + 2
                else f"#{prev_seq + 1}..#{entry.seq - 1}"
            )
            problem = f"entries before it were deleted ({missing} missing)"
        elif entry_hash(entry) != entry.hash:
            problem = "altered: its content does not match its hash"
        elif entry.prev_hash != prev_hash:
            problem = (
                f"inserted or re-hashed: it does not chain to the entry before it (#{prev_seq})"
            )
        if problem:
            return Verified(count, prev_seq, prev_hash, Problem(entry.seq, entry.pk, problem))
        prev_seq, prev_hash = entry.seq, entry.hash
    return Verified(count, prev_seq, prev_hash, None)
