"""The demo that `make run DEMO=1` loads: the example file, verified phones, an admin
(who is also an engineer, so incident actions are attributed).

Loaded on the first start only (the database has no ``admin`` user yet), so later starts
keep the user's edits and the password; ``DEMO=reset`` loads it again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction

from oncall.people.models import ContactMethod
from oncall.people.services.directory import engineer_profile_ensure
from oncall.people.services.verification import contact_method_mark_verified

ADMIN_USERNAME = "admin"
ADMIN_TIME_ZONE = "Europe/Berlin"  # the example's primary schedule


@dataclass(frozen=True)
class DemoLogin:
    loaded: bool  # False: an earlier start loaded it and it was kept
    password_file: Path
    password: str
    alert_url: str  # the demo Alertmanager integration's inbound URL ("" if none)


def _password_file() -> Path:
    return Path(settings.VAR_DIR) / "demo_admin_password"


def _alertmanager_url() -> str:
    from paging.models import Integration

    integration = (
        Integration.objects.filter(kind=Integration.Kind.ALERTMANAGER).order_by("pk").first()
    )
    return integration.inbound_url if integration else ""


def demo_load(*, reset: bool = False) -> DemoLogin:
    user_model = get_user_model()
    password_file = _password_file()
    admin = user_model.objects.filter(username=ADMIN_USERNAME).first()
    if admin is not None and not reset and password_file.is_file():
        return DemoLogin(
            False, password_file, password_file.read_text().strip(), _alertmanager_url()
        )
    example = Path(settings.BASE_DIR) / "examples" / "oncall.yaml"
    password = secrets.token_urlsafe(12)
    with transaction.atomic():
        call_command("oncall_apply", str(example), verbosity=0)
        # The example's numbers are fictional (555-01xx): verified, so SMS and calls go
        # to the console channel like everything else instead of being held back.
        for method in ContactMethod.objects.filter(verified_at__isnull=True):
            contact_method_mark_verified(contact_method=method)
        admin, _ = user_model.objects.get_or_create(
            username=ADMIN_USERNAME, defaults={"email": "admin@example.com"}
        )
        admin.is_staff = admin.is_superuser = True
        admin.set_password(password)
        admin.save()
        # The admin is an engineer too, so what they do on an incident page names them.
        engineer_profile_ensure(user=admin, display_name="Admin", time_zone=ADMIN_TIME_ZONE)
    password_file.parent.mkdir(parents=True, exist_ok=True)
    password_file.write_text(password + "\n")
    password_file.chmod(0o600)
    return DemoLogin(True, password_file, password, _alertmanager_url())
