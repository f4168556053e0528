"""Settings come from the environment; malformed values name the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from oncall.env import env_bool, env_int, env_list, env_url

ROOT = Path(__file__).resolve().parents[2]


def test_env_bool_accepts_words_and_rejects_typos() -> None:
    assert env_bool("X", False, {"X": "True"}) is True
    assert env_bool("X", True, {"X": "off"}) is False
    assert env_bool("X", True, {}) is True
    with pytest.raises(ImproperlyConfigured, match="X must be true or false"):
        env_bool("X", False, {"X": "ture"})


def test_env_int_and_minimum() -> None:
    assert env_int("N", 3, environ={"N": "7"}) == 7
    with pytest.raises(ImproperlyConfigured, match="N must be a whole number"):
        env_int("N", 3, environ={"N": "seven"})
    with pytest.raises(ImproperlyConfigured, match="N must be at least 1"):
        env_int("N", 3, minimum=1, environ={"N": "0"})


def test_env_url_requires_scheme_and_host() -> None:
    assert env_url("U", environ={"U": "https://x.example/"}) == "https://x.example"
    with pytest.raises(ImproperlyConfigured, match="U must be a URL"):
        env_url("U", environ={"U": "x.example"})


def test_env_list_splits_and_trims() -> None:
    assert env_list("L", ["a"], {"L": " a.example , b.example,"}) == ["a.example", "b.example"]
    assert env_list("L", ["a"], {}) == ["a"]


def _check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE")
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DEBUG": "false"}, "SECRET_KEY must be set when DEBUG is off"),
        ({"SECRET_KEY": "k", "DEBUG": "maybe"}, "DEBUG must be true or false"),
        ({"SECRET_KEY": "k", "DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL"),
        ({"SECRET_KEY": "k", "PUBLIC_BASE_URL": "oncall.example"}, "PUBLIC_BASE_URL"),
        ({"SECRET_KEY": "k", "CELERY_BROKER_URL": "http://x"}, "CELERY_BROKER_URL"),
        ({"SECRET_KEY": "k", "EMAIL_PORT": "smtp"}, "EMAIL_PORT"),
        ({"SECRET_KEY": "k", "ANALYTICS_PG_WORK_MEM": "lots"}, "ANALYTICS_PG_WORK_MEM"),
    ],
)
def test_bad_environment_stops_startup_naming_the_variable(
    env: dict[str, str], expected: str
) -> None:
    result = _check(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert expected in result.stderr


def test_good_environment_starts() -> None:
    result = _check({"SECRET_KEY": "k", "DATABASE_URL": "sqlite:////tmp/oncall-check.sqlite3"})
    assert result.returncode == 0, result.stderr
