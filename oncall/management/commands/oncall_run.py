"""Run the whole service in one process: web app + paging engine (embedded mode)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Migrate, start the paging engine in a thread and serve the web app (embedded mode)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--demo",
            action="store_true",
            help="load examples/oncall.yaml and an admin user, and print the login",
        )

    def handle(self, *args: Any, addrport: str, demo: bool, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        if demo:
            self._load_demo(addrport)
        from paging.embedded import start_engine_thread

        if settings.EMBEDDED_MODE:
            start_engine_thread()
            self.stdout.write("Paging engine: running in this process (embedded mode).")
        else:
            self.stdout.write(
                "CELERY_BROKER_URL is set: run `celery -A oncall worker` and"
                " `celery -A oncall beat` for the engine."
            )
        call_command("runserver", addrport, use_reloader=False, skip_checks=False)

    def _load_demo(self, addrport: str) -> None:
        example = Path(settings.BASE_DIR) / "examples" / "oncall.yaml"
        if example.exists():
            call_command("oncall_apply", str(example), verbosity=0)
        user_model = get_user_model()
        password = secrets.token_urlsafe(12)
        admin, _ = user_model.objects.get_or_create(
            username="admin", defaults={"email": "admin@example.com"}
        )
        admin.is_staff = admin.is_superuser = True
        admin.set_password(password)
        admin.save()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready: http://{addrport}/admin/  user: admin  password: {password}"
            )
        )
