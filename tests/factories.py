"""Shared factory_boy factories for the people directory.

Other apps' tests import these; keep the names stable:
UserFactory, TeamFactory, EngineerFactory, MembershipFactory,
ContactMethodFactory, NotificationRuleFactory.

Phone contact methods (voice/sms) are created *verified* by default, so that they
are pageable in tests of the engine; pass ``verified_at=None`` for an unverified one.
"""

from __future__ import annotations

from functools import cache

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from oncall.people.models import ContactMethod, Engineer, NotificationRule, Team, TeamMembership

TEST_PASSWORD = "pw-for-tests"


@cache
def _test_password_hash() -> str:
    return make_password(TEST_PASSWORD)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    is_staff = False
    # Hashed once and reused: hashing per user would dominate the test run time.
    password = factory.LazyFunction(lambda: _test_password_hash())


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")
    description = ""


class EngineerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Engineer

    user = factory.SubFactory(UserFactory)
    display_name = factory.LazyAttribute(
        lambda e: f"{e.user.first_name} {e.user.last_name}".strip() or e.user.username
    )
    time_zone = "UTC"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamMembership

    team = factory.SubFactory(TeamFactory)
    engineer = factory.SubFactory(EngineerFactory)
    role = TeamMembership.Role.MEMBER


class ContactMethodFactory(factory.django.DjangoModelFactory):
    """Default: a verified SMS number. ``kind`` picks a matching value automatically."""

    class Meta:
        model = ContactMethod

    engineer = factory.SubFactory(EngineerFactory)
    kind = "sms"
    value = factory.LazyAttributeSequence(
        lambda cm, n: {
            "email": f"person{n}@example.test",
            "slack": f"U{n:08d}",
        }.get(cm.kind, f"+1415555{n % 10000:04d}")
    )
    label = ""
    verified_at = factory.LazyFunction(timezone.now)


class NotificationRuleFactory(factory.django.DjangoModelFactory):
    """A rule on a contact method of the same engineer (the method is created if absent)."""

    class Meta:
        model = NotificationRule

    engineer = factory.SubFactory(EngineerFactory)
    contact_method = factory.SubFactory(
        ContactMethodFactory, engineer=factory.SelfAttribute("..engineer")
    )
    delay_minutes = 0
    urgency = "high"
