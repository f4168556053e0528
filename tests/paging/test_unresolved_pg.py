"""Unresolved steps on PostgreSQL: two workers due at once send each notice once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import transaction

from paging.engine import tick
from paging.models import Incident, Message
from paging.notices import unresolved_notices_batch, unresolved_notices_send
from tests.paging.test_unresolved import CAROL_MAIL, fire, manager, service_with, unresolved_to
from tests.support import T0, engineer_with_ladder, in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_second_worker_skips_the_incident_the_first_holds(channel) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        alice = engineer_with_ladder("Alice", "+14155550001")
        incident = fire(service_with(alice, [unresolved_to(manager(), minutes=30)]))
        tick()
        clock.shift(timedelta(minutes=30))

        claimed: dict[str, int] = {}
        waited: dict[str, bool] = {}
        holding = threading.Event()
        second_done = threading.Event()

        def first() -> None:
            with transaction.atomic():
                try:
                    claimed["first"] = unresolved_notices_batch()
                finally:
                    holding.set()  # the incident row stays locked until this commits
                # The second worker skips the locked row rather than waiting for it.
                waited["second finished while the row was held"] = second_done.wait(10)

        def second() -> None:
            try:
                holding.wait(10)
                claimed["second"] = unresolved_notices_send()
            finally:
                second_done.set()

        errors = in_threads(first, second)
        assert not errors, errors
        assert claimed == {"first": 1, "second": 0}
        assert waited == {"second finished while the row was held": True}
        assert unresolved_notices_send() == 0  # nothing due any more
        assert list(
            Message.objects.filter(purpose="notice").values_list("destination", flat=True)
        ) == [CAROL_MAIL]
        incident.refresh_from_db()
        assert (incident.unresolved_step, incident.unresolved_due_at) == (1, None)
        assert (
            Incident.objects.get(pk=incident.pk).events.filter(kind="unresolved_notice").count()
            == 1
        )
