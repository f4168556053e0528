"""Services of the people directory (writes). Import from here; see the submodules."""

from oncall.services.people import (
    contact_method_create,
    contact_method_delete,
    contact_method_disable,
    contact_method_enable,
    contact_method_update,
    contact_value_normalize,
    engineer_create,
    engineer_delete,
    engineer_update,
    notification_rule_create,
    notification_rule_delete,
    notification_rule_update,
    team_create,
    team_delete,
    team_membership_remove,
    team_membership_set,
    team_update,
)
from oncall.services.tokens import user_token_rotate
from oncall.services.verification import (
    VerificationRateLimited,
    VerificationSent,
    contact_method_send_verification,
    contact_method_verify,
)

__all__ = [
    "VerificationRateLimited",
    "VerificationSent",
    "contact_method_create",
    "contact_method_delete",
    "contact_method_disable",
    "contact_method_enable",
    "contact_method_send_verification",
    "contact_method_update",
    "contact_method_verify",
    "contact_value_normalize",
    "engineer_create",
    "engineer_update",
    "notification_rule_create",
    "notification_rule_delete",
    "notification_rule_update",
    "team_create",
    "engineer_delete",
    "team_delete",
    "team_membership_remove",
    "team_membership_set",
    "team_update",
    "user_token_rotate",
]
