"""`manage.py webpush_keys`: print a new VAPID key pair for web push, as environment
lines (the private key goes in WEBPUSH_VAPID_PRIVATE_KEY; the public key is derived
from it and shown for reference)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from paging.channels.webpush.vapid import vapid_keys_generate, vapid_public_key


class Command(BaseCommand):
    help = (
        "Print a new VAPID key pair for web push. Set WEBPUSH_VAPID_PRIVATE_KEY to the private"
        " key (keep it secret); changing it later ends every browser's subscription."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--show",
            action="store_true",
            help="print the public key (applicationServerKey) of the configured key instead",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["show"]:
            public = vapid_public_key()
            if not public:
                self.stderr.write("WEBPUSH_VAPID_PRIVATE_KEY is not set: web push is off")
                return
            self.stdout.write(public)
            return
        private, public = vapid_keys_generate()
        self.stdout.write(f"WEBPUSH_VAPID_PRIVATE_KEY={private}")
        self.stdout.write(f"# public key (applicationServerKey, derived from it): {public}")
