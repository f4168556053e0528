"""factory_boy factories for paging. H5 (inbound) imports these; keep the names stable:
ServiceFactory, IntegrationFactory, EscalationPolicyFactory, EscalationStepFactory,
EscalationTargetFactory, MaintenanceWindowFactory, IncidentFactory.
"""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from paging.models import (
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
    Incident,
    Integration,
    MaintenanceWindow,
    Service,
)
from tests.factories import EngineerFactory, TeamFactory


class EscalationPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EscalationPolicy

    name = factory.Sequence(lambda n: f"policy {n}")
    repeat = 0


class EscalationStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EscalationStep

    policy = factory.SubFactory(EscalationPolicyFactory)
    position = factory.Sequence(lambda n: n)
    delay_minutes = 15


class EscalationTargetFactory(factory.django.DjangoModelFactory):
    """Default: an engineer target (a new engineer)."""

    class Meta:
        model = EscalationTarget

    step = factory.SubFactory(EscalationStepFactory)
    kind = "engineer"
    engineer = factory.Maybe(
        factory.LazyAttribute(lambda t: t.kind == "engineer"),
        yes_declaration=factory.SubFactory(EngineerFactory),
        no_declaration=None,
    )


class ServiceFactory(factory.django.DjangoModelFactory):
    """A service of a new team, with no escalation policy unless given one."""

    class Meta:
        model = Service

    name = factory.Sequence(lambda n: f"service-{n}")
    team = factory.SubFactory(TeamFactory)
    escalation_policy = None


class IntegrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Integration

    service = factory.SubFactory(ServiceFactory)
    kind = Integration.Kind.ALERTMANAGER
    name = factory.LazyAttribute(lambda i: f"{i.kind} in")
    grouping = Integration.Grouping.GROUP


class MaintenanceWindowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MaintenanceWindow

    service = factory.SubFactory(ServiceFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=5))
    ends_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))
    reason = "planned work"


class IncidentFactory(factory.django.DjangoModelFactory):
    """A triggered incident; not due for escalation unless ``next_due_at`` is given."""

    class Meta:
        model = Incident

    service = factory.SubFactory(ServiceFactory)
    dedup_key = factory.Sequence(lambda n: f"dedup-{n}")
    title = factory.Sequence(lambda n: f"Something broke {n}")
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyFunction(timezone.now)
    escalation_policy = factory.LazyAttribute(lambda i: i.service.escalation_policy)
    acknowledged_at = None
    acknowledged_by = None
    # An incident made acknowledged by a test was first acknowledged then, by that engineer.
    first_acknowledged_at = factory.LazyAttribute(lambda i: i.acknowledged_at)
    first_acknowledged_by = factory.LazyAttribute(lambda i: i.acknowledged_by)


def policy_with_steps(*steps: list, delay_minutes: int = 15, repeat: int = 0) -> EscalationPolicy:
    """A policy whose step i pages the engineers in ``steps[i]`` (Engineer objects)."""
    policy = EscalationPolicyFactory(repeat=repeat)
    for position, engineers in enumerate(steps):
        step = EscalationStepFactory(policy=policy, position=position, delay_minutes=delay_minutes)
        for engineer in engineers:
            EscalationTargetFactory(step=step, kind="engineer", engineer=engineer)
    return policy
