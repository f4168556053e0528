"""Inhibition under concurrency on PostgreSQL: a target held while its source resolves
in another transaction is never left held for good."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from paging.inbound.alertmanager import alertmanager_parse
from paging.ingest import alerts_ingest
from paging.models import Integration
from tests.paging.factories import IntegrationFactory
from tests.paging.rules_helpers import am, incident_of, inhibition_set, message, post

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_source_resolving_while_a_target_is_held_releases_it():
    integration = IntegrationFactory(grouping=Integration.Grouping.ALERT)
    inhibition_set(
        name="critical mutes warning",
        source_matchers=['severity="critical"'],
        target_matchers=['severity="warning"'],
        equal=["instance"],
    )
    post(integration, am("c000000000000001", instance="db-1"))
    target = alertmanager_parse(
        message(am("w000000000000001", severity="warning", instance="db-1"))
    )
    resolve = alertmanager_parse(message(am("c000000000000001", "resolved", instance="db-1")))
    held = threading.Event()
    resolved = threading.Event()
    early: list[bool] = []

    def hold_the_target() -> None:
        try:
            with transaction.atomic():
                alerts_ingest(integration=integration, events=target)
                held.set()
                # The resolve runs now, in its own transaction: it must wait for this one.
                time.sleep(1.0)
                early.append(resolved.is_set())
        finally:
            connection.close()

    def resolve_the_source() -> None:
        try:
            held.wait(10)
            alerts_ingest(integration=integration, events=resolve)
            resolved.set()
        finally:
            connection.close()

    threads = [
        threading.Thread(target=hold_the_target),
        threading.Thread(target=resolve_the_source),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert early == [False]  # the resolve waited for the held target's commit
    assert resolved.is_set()
    warning = incident_of("w000000000000001")
    assert warning.suppressed_by == ""
    assert warning.next_due_at is not None
    assert warning.events.filter(kind="suppression_ended").count() == 1
