"""Policy versions on PostgreSQL: two writers of the same new version (row locks)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from paging.models import EscalationPolicyVersion, EscalationTarget
from paging.policy_versions import policy_version_current
from paging.policy_writes import StepSpec, TargetSpec, policy_save
from tests.factories import EngineerFactory
from tests.paging.test_reliability_pg import wait_for
from tests.support import in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _lock_waiters() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def test_two_workers_needing_the_same_new_version_write_it_once() -> None:
    """Rows changed outside policy_save: two engine batches find the current version
    stale at once. The second waits on the policy row, then takes the first's version
    instead of writing number 2 again (which would break the batch on the unique key)."""
    alice, bob = EngineerFactory(), EngineerFactory()
    steps = [StepSpec(delay_minutes=5, targets=[TargetSpec(kind="engineer", engineer_id=alice.pk)])]
    policy = policy_save(policy=None, fields={"name": "p"}, steps=steps)
    EscalationTarget.objects.filter(step__policy=policy).update(engineer=bob)

    results: dict[str, int] = {}
    first_wrote = threading.Event()
    second_started = threading.Event()

    def first() -> None:
        with transaction.atomic():
            try:
                results["first"] = policy_version_current(policy_id=policy.pk).number
            finally:
                first_wrote.set()
            second_started.wait(10)
            # Commit only once the second worker is blocked on the policy row.
            wait_for(lambda: _lock_waiters() >= 1, 10, "the second worker to wait")

    def second() -> None:
        first_wrote.wait(10)
        with transaction.atomic():
            second_started.set()
            results["second"] = policy_version_current(policy_id=policy.pk).number

    errors = in_threads(first, second)
    assert not errors, errors
    assert results == {"first": 2, "second": 2}
    assert list(EscalationPolicyVersion.objects.values_list("number", flat=True)) == [1, 2]
