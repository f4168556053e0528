"""The chain: append-only, and `audit_verify` finds the first altered, inserted or
deleted entry."""

from __future__ import annotations

import threading
from functools import partial

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from oncall.audit.chain import GENESIS, chain_verify
from oncall.audit.models import AppendOnlyError, AuditEntry
from oncall.people.services import team_create, team_update
from tests.audit.conftest import raw_sql
from tests.support import in_threads

pytestmark = pytest.mark.django_db


def verify() -> str:
    from io import StringIO

    out = StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue().strip()


@pytest.fixture
def five() -> list[AuditEntry]:
    team = team_create(name="A")
    for name in ("B", "C", "D", "E"):
        team_update(team=team, name=name)
    return list(AuditEntry.objects.order_by("seq"))


def test_an_intact_chain_is_ok(five) -> None:
    assert [e.seq for e in five] == [1, 2, 3, 4, 5]
    assert five[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(five, five[1:], strict=False))
    assert verify() == f"ok 5 entries (head #5 {five[-1].hash})"
    call_command("audit_verify", head=f"3:{five[2].hash}")


def test_an_altered_entry_is_found(five) -> None:
    raw_sql("UPDATE audit_auditentry SET actor_label = %s WHERE seq = 3", ["someone else"])
    with pytest.raises(CommandError, match=r"entry #3 \(id \d+\): altered"):
        verify()


def test_an_altered_and_rehashed_entry_is_found_at_the_next(five) -> None:
    entry = AuditEntry.objects.get(seq=3)
    entry.note = "nothing to see"
    from oncall.audit.chain import entry_hash

    raw_sql(
        "UPDATE audit_auditentry SET note = %s, hash = %s WHERE seq = 3",
        [entry.note, entry_hash(entry)],
    )
    with pytest.raises(CommandError, match=r"entry #4 .*does not chain to the entry before"):
        verify()


def test_a_deleted_entry_is_found(five) -> None:
    raw_sql("DELETE FROM audit_auditentry WHERE seq = 2")
    with pytest.raises(CommandError, match=r"entry #3 .*deleted \(#2 missing\)"):
        verify()
    raw_sql("DELETE FROM audit_auditentry WHERE seq = 1")
    assert chain_verify().problem.text == "entries before it were deleted (#1..#2 missing)"


def test_entries_deleted_from_the_end_are_found_with_a_kept_head(five) -> None:
    head = f"5:{five[-1].hash}"
    raw_sql("DELETE FROM audit_auditentry WHERE seq >= 4")
    assert verify().startswith("ok 3 entries")  # the chain alone cannot tell
    with pytest.raises(CommandError, match="entry #5 is gone"):
        call_command("audit_verify", head=head)


def test_an_inserted_entry_is_found(five) -> None:
    # A forged entry with a correct hash, chained to #2 and claiming to be #3.
    forged = AuditEntry(
        seq=3,
        at=five[2].at,
        actor_kind="user",
        actor_label="alice (admin)",
        object_type="oncall.team",
        object_id=five[0].object_id,
        object_repr="B",
        action="delete",
        changes={},
        prev_hash=five[1].hash,
    )
    from oncall.audit.chain import entry_hash

    forged.hash = entry_hash(forged)
    raw_sql(
        "INSERT INTO audit_auditentry (seq, at, actor_kind, actor_label, object_type, object_id,"
        " object_repr, parent, action, changes, note, prev_hash, hash)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, '', %s, %s, '', %s, %s)",
        [
            forged.seq,
            forged.at,
            forged.actor_kind,
            forged.actor_label,
            forged.object_type,
            forged.object_id,
            forged.object_repr,
            forged.action,
            "{}",
            forged.prev_hash,
            forged.hash,
        ],
    )
    with pytest.raises(CommandError, match=r"entry #3 \(id \d+\): inserted"):
        verify()


def test_entries_cannot_be_changed_or_deleted_through_the_orm(five) -> None:
    entry = five[0]
    entry.note = "changed"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(note="x")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    assert verify().startswith("ok 5 entries")


@pytest.mark.postgres
def test_postgres_refuses_update_and_delete_of_entries(five) -> None:
    for sql in ("UPDATE audit_auditentry SET note = 'x'", "DELETE FROM audit_auditentry"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert verify().startswith("ok 5 entries")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_chain() -> None:
    """Eight threads, each changing its own team 10 times in its own transactions."""
    teams = [team_create(name=f"T{i}") for i in range(8)]
    start = threading.Barrier(len(teams))

    def writer(team) -> None:  # type: ignore[no-untyped-def]
        start.wait()
        for n in range(10):
            team_update(team=team, description=f"edit {n}")

    errors = in_threads(*(partial(writer, t) for t in teams), timeout=None)
    assert errors == []
    assert list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, 89)
    )
    assert verify() == f"ok 88 entries (head #88 {AuditEntry.objects.get(seq=88).hash})"
