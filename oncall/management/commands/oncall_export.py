"""`manage.py oncall_export [-o FILE]`: write the current config in the oncall_apply format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oncall.config.apply import config_export_text


class Command(BaseCommand):
    help = "Write teams, engineers and every registered section as YAML (oncall_apply format)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("-o", "--output", help="write to this file instead of stdout")

    def handle(self, *args: Any, output: str | None, **options: Any) -> None:
        text = config_export_text()
        if output is None:
            self.stdout.write(text, ending="")
            return
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"{output}: cannot write: {exc.strerror or exc}") from None
        self.stderr.write(f"Wrote {output}")
