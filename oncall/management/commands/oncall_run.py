"""Run the whole service in one process: web app + paging engine (embedded mode).

The web app is served by waitress (a production WSGI server: a fixed pool of
EMBEDDED_THREADS request threads, connections beyond those wait in the listen backlog
instead of each getting a thread and a database connection), and the engine loop is a
thread of the same process. Ctrl-C or SIGTERM stops both and closes the database pool.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from oncall.public_url import public_url


def parse_addrport(addrport: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[V6]:PORT`` or ``PORT`` (on 127.0.0.1) -> (host, port)."""
    host, sep, port = addrport.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", addrport
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandError(f"{addrport!r} is not HOST:PORT (e.g. 127.0.0.1:8000)")
    return host, int(port)


class Command(BaseCommand):
    help = (
        "Migrate, start the paging engine in a thread and serve the web app with waitress"
        " (embedded mode)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--demo",
            action="store_true",
            help="load examples/oncall.yaml and an admin user on the first start, print the login",
        )
        parser.add_argument(
            "--demo-reset",
            action="store_true",
            help="load the demo again over any edits, with a new admin password",
        )

    def handle(
        self, *args: Any, addrport: str, demo: bool, demo_reset: bool, **options: Any
    ) -> None:
        from waitress.server import create_server

        from oncall.gc_tuning import freeze_after_startup
        from oncall.wsgi import application

        host, port = parse_addrport(addrport)
        if not os.environ.get("PUBLIC_BASE_URL"):
            # Links in pages, feeds and integration URLs name the address served here.
            wildcard = host in ("0.0.0.0", "::", "")  # noqa: S104 - only names the address
            shown = "127.0.0.1" if wildcard else host
            shown = f"[{shown}]" if ":" in shown else shown
            settings.PUBLIC_BASE_URL = f"http://{shown}:{port}"
        call_command("migrate", interactive=False, verbosity=0)
        if demo or demo_reset:
            self._load_demo(reset=demo_reset)
        # Migrations and the demo ran on this thread's connection: give it back (to the
        # pool) before the server's threads start taking theirs.
        connections.close_all()
        engine_stop: threading.Event | None = None
        if settings.EMBEDDED_MODE:
            from paging.embedded import start_engine_thread

            engine_stop = start_engine_thread()
            self.stdout.write("Paging engine: running in this process (embedded mode).")
        else:
            self.stdout.write(
                "CELERY_BROKER_URL is set: run `celery -A oncall worker` and"
                " `celery -A oncall beat` for the engine."
            )
        # Again after migrate and the demo: what they left behind is not walked by the GC.
        freeze_after_startup()
        threads = settings.EMBEDDED_THREADS
        server = create_server(application, host=host, port=port, threads=threads, ident="oncall")
        self.stdout.write(
            f"Serving on http://{addrport} (waitress, {threads} threads). Ctrl-C to stop."
        )
        self.stdout.flush()

        def stop(signum: int, frame: FrameType | None) -> None:
            # Raised inside waitress's loop, which catches it and shuts its threads down.
            raise SystemExit(0)

        previous = signal.signal(signal.SIGTERM, stop)
        try:
            server.run()  # returns after Ctrl-C (KeyboardInterrupt) or SIGTERM
        finally:
            signal.signal(signal.SIGTERM, previous)
            server.close()
            if engine_stop is not None:
                engine_stop.set()
            self._close_database_pools()
        self.stdout.write("Stopped.")

    @staticmethod
    def _close_database_pools() -> None:
        for conn in connections.all(initialized_only=True):
            conn.close()
            close_pool = getattr(conn, "close_pool", None)
            if close_pool is not None:
                try:
                    close_pool()
                except Exception as exc:  # shutting down: say it, do not mask the exit
                    sys.stderr.write(f"closing the database pool: {exc}\n")

    def _load_demo(self, *, reset: bool) -> None:
        from oncall.demo import demo_load

        login = demo_load(reset=reset)
        admin_url = public_url("/admin/")
        if login.loaded:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo ready: {admin_url}  user: admin  password: {login.password}"
                    f"  (kept in {login.password_file})"
                )
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo kept from an earlier start (DEMO=reset loads it again): {admin_url}"
                    f"  user: admin  password: in {login.password_file}"
                )
            )
        if login.alert_url:
            self.stdout.write(
                "Fire a test alert (the page shows on this console):\n"
                "  curl -sS -H 'Content-Type: application/json'"
                f" --data @examples/alerts/alertmanager.json {login.alert_url}"
            )
