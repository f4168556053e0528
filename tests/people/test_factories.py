import pytest

from tests.factories import (
    ContactMethodFactory,
    EngineerFactory,
    MembershipFactory,
    NotificationRuleFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_factories_build_a_consistent_cast() -> None:
    user = UserFactory(username="alice")
    assert user.check_password("pw-for-tests")
    engineer = EngineerFactory(user=user)
    membership = MembershipFactory(engineer=engineer, team=TeamFactory(slug="platform"))
    assert membership.team.slug == "platform"
    email = ContactMethodFactory(engineer=engineer, kind="email")
    slack = ContactMethodFactory(engineer=engineer, kind="slack")
    sms = ContactMethodFactory(engineer=engineer)
    for cm in (email, slack, sms):
        cm.full_clean()
        assert cm.is_pageable
    rule = NotificationRuleFactory(engineer=engineer, delay_minutes=5)
    assert rule.contact_method.engineer == engineer
    rule.full_clean()
    assert not ContactMethodFactory(kind="voice", verified_at=None).is_pageable
