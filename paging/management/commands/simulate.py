"""`python manage.py simulate CONFIG.yaml SCENARIO.yaml`: test a policy before trusting it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oncall.config.registry import ConfigError
from paging.simulate import ScenarioError, SimulationError, simulate


class Command(BaseCommand):
    help = (
        "Apply CONFIG (an oncall_apply file) and play SCENARIO (alerts, acks… at given times)"
        " on a virtual clock through the real engine; print who was paged, how and when."
        " Everything is rolled back afterwards."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("config", help="config file, or '-' to use the database as it is")
        parser.add_argument("scenario", help="scenario file (see paging/simulate.py)")
        parser.add_argument(
            "--respect-verification",
            action="store_true",
            help="page only verified phone numbers (default: treat every method as verified)",
        )
        parser.add_argument(
            "--include-existing",
            action="store_true",
            help="let open incidents and queued or recent messages already in the database"
            " take part (default: hidden, the run behaves as on an empty database)",
        )
        parser.add_argument(
            "--max-steps",
            type=int,
            default=None,
            help="virtual clock steps allowed before the run is an error (default 10000)",
        )
        parser.add_argument(
            "--format",
            choices=["text", "json"],
            default="text",
            help="json: the timeline, pages, other messages and outcomes, machine-readable",
        )

    def handle(self, *args: Any, config: str, scenario: str, **options: Any) -> None:
        config_path = None if config == "-" else Path(config)
        if config_path is not None and not config_path.exists():
            raise CommandError(f"{config}: no such file")
        if options["max_steps"] is not None and options["max_steps"] < 1:
            raise CommandError("--max-steps: must be at least 1")
        try:
            report = simulate(
                config=config_path,
                scenario_path=Path(scenario),
                respect_verification=options["respect_verification"],
                include_existing=options["include_existing"],
                max_steps=options["max_steps"],
                output_format=options["format"],
            )
        except (ScenarioError, ConfigError, SimulationError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(report, ending="")
