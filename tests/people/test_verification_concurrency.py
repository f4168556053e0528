"""Two simultaneous send requests cannot both pass the resend limit (row lock)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from oncall.people import services
from oncall.people.models import VerificationCode
from paging.models import Message
from tests.factories import ContactMethodFactory


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_give_one_code() -> None:
    cm = ContactMethodFactory(kind="sms", verified_at=None)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def send() -> None:
        try:
            barrier.wait()
            services.contact_method_send_verification(contact_method=cm)
            outcomes.append("sent")
        except services.VerificationRateLimited:
            outcomes.append("limited")
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["limited", "limited", "limited", "sent"]
    assert VerificationCode.objects.count() == 1
    assert Message.objects.filter(purpose="verification").count() == 1
