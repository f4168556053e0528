"""Helpers for config-as-code tests: run the commands, snapshot the people directory."""

from __future__ import annotations

import copy
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

from oncall.config.apply import config_export
from oncall.people.models import ContactMethod, Engineer, NotificationRule, Team, TeamMembership

EXAMPLE = Path(settings.BASE_DIR) / "examples" / "oncall.yaml"


def run_apply(path: Path | str, *args: str) -> str:
    out = StringIO()
    call_command("oncall_apply", str(path), *args, stdout=out)
    return out.getvalue()


def run_export() -> str:
    out = StringIO()
    call_command("oncall_export", stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            get_user_model(),
            Team,
            Engineer,
            TeamMembership,
            ContactMethod,
            NotificationRule,
        )
    }


def snapshot() -> tuple[dict[str, int], dict[str, Any], list[tuple[Any, ...]]]:
    """Everything a failed apply must leave alone: counts, exported state, verified state."""
    verified = list(
        ContactMethod.objects.order_by("pk").values_list("pk", "kind", "value", "verified_at")
    )
    return row_counts(), config_export(), verified


@pytest.fixture
def example_doc() -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(EXAMPLE.read_text()))


@pytest.fixture
def write(tmp_path: Path):
    """write(doc, name) -> path of a YAML file holding ``doc``."""

    def _write(doc: Any, name: str = "oncall.yaml") -> Path:
        path = tmp_path / name
        path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
        return path

    return _write
