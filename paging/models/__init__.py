"""Paging models, one module per concern; import them from ``paging.models``."""

from paging.models.engine import EngineStep
from paging.models.inbound import ChangeEvent, IntegrationRate, SnsMessageSeen, SnsSubscription
from paging.models.incidents import Alert, Incident, IncidentEvent
from paging.models.outbox import EngineHeartbeat, Message
from paging.models.policies import (
    EscalationPolicy,
    EscalationPolicyVersion,
    EscalationStep,
    EscalationTarget,
    UnresolvedStep,
)
from paging.models.priorities import PriorityLevel, ServicePriorityPolicy
from paging.models.rules import AlertRule, InhibitedIncident, InhibitionSource, InhibitRule
from paging.models.services import Integration, MaintenanceWindow, Service

__all__ = [
    "Alert",
    "AlertRule",
    "ChangeEvent",
    "EngineHeartbeat",
    "EngineStep",
    "EscalationPolicy",
    "EscalationPolicyVersion",
    "EscalationStep",
    "EscalationTarget",
    "Incident",
    "IncidentEvent",
    "InhibitRule",
    "InhibitedIncident",
    "InhibitionSource",
    "Integration",
    "IntegrationRate",
    "MaintenanceWindow",
    "Message",
    "PriorityLevel",
    "Service",
    "ServicePriorityPolicy",
    "SnsMessageSeen",
    "SnsSubscription",
    "UnresolvedStep",
]
