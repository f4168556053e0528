"""The layout moved code, not data: app labels, table names and migrations are as before."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.management import call_command

TABLES = {
    ("oncall", "Engineer"): "oncall_engineer",
    ("audit", "AuditEntry"): "audit_auditentry",
    ("delivery", "SmsReplyCode"): "delivery_smsreplycode",
    ("delivery", "CallAction"): "delivery_callaction",
    ("bridges", "SlackPost"): "bridges_slackpost",
    ("bridges", "PagerDutyForward"): "bridges_pagerdutyforward",
    ("bridges", "EventCursor"): "bridges_eventcursor",
}


@pytest.mark.parametrize(("label", "model"), list(TABLES))
def test_models_keep_their_label_and_table(label: str, model: str) -> None:
    assert apps.get_model(label, model)._meta.db_table == TABLES[(label, model)]


def test_apps_live_in_the_new_packages() -> None:
    assert apps.get_app_config("oncall").name == "oncall.people"
    assert apps.get_app_config("audit").name == "oncall.audit"
    assert apps.get_app_config("me").name == "oncall.me"
    assert apps.get_app_config("delivery").name == "paging.channels.twilio"
    assert apps.get_app_config("bridges").name == "paging.channels"


@pytest.mark.django_db
def test_no_model_change_is_missing_a_migration() -> None:
    # Exits non-zero (SystemExit) when a model differs from the migration history.
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
