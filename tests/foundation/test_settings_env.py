"""Settings come from the environment; malformed values name the variable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from oncall.env import env_bool, env_hours, env_int, env_int_map, env_list, env_url

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


def test_env_int_map_reads_pairs() -> None:
    assert env_int_map("M", None, environ={}) is None
    assert env_int_map("M", {"sms": 5}, environ={}) == {"sms": 5}
    assert env_int_map("M", None, environ={"M": " sms:2 , voice: 1"}) == {"sms": 2, "voice": 1}
    assert env_int_map("M", {"sms": 5}, environ={"M": "none"}) == {}
    with pytest.raises(ImproperlyConfigured, match="M must be key:number pairs"):
        env_int_map("M", None, environ={"M": "sms=5"})
    with pytest.raises(ImproperlyConfigured, match="M: sms must be at least 1, got 0"):
        env_int_map("M", None, minimum=1, environ={"M": "sms:0"})


def test_env_hours_reads_a_range_of_the_day() -> None:
    assert env_hours("H", (8, 18), {}) == (8, 18)
    assert env_hours("H", (8, 18), {"H": "7-24"}) == (7, 24)
    for bad in ("18-8", "8", "8-25", "a-b", "8-8"):
        with pytest.raises(ImproperlyConfigured, match="H must be START-END"):
            env_hours("H", (8, 18), {"H": bad})


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
        (
            {"DEBUG": "false", "SECRET_KEY_FILE": "/nonexistent/secret_key"},
            "SECRET_KEY must be set when DEBUG is off",
        ),
        ({"SECRET_KEY": "k", "DEBUG": "maybe"}, "DEBUG must be true or false"),
        ({"SECRET_KEY": "k", "DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL"),
        ({"SECRET_KEY": "k", "PUBLIC_BASE_URL": "oncall.example"}, "PUBLIC_BASE_URL"),
        ({"SECRET_KEY": "k", "CELERY_BROKER_URL": "http://x"}, "CELERY_BROKER_URL"),
        ({"SECRET_KEY": "k", "EMAIL_PORT": "smtp"}, "EMAIL_PORT"),
        ({"SECRET_KEY": "k", "ANALYTICS_PG_WORK_MEM": "lots"}, "ANALYTICS_PG_WORK_MEM"),
        ({"SECRET_KEY": "k", "DATABASE_POOL": "perhaps"}, "DATABASE_POOL must be true or false"),
        ({"SECRET_KEY": "k", "DATABASE_POOL_MAX_SIZE": "0"}, "DATABASE_POOL_MAX_SIZE"),
        (
            {"SECRET_KEY": "k", "DATABASE_POOL_MIN_SIZE": "5", "DATABASE_POOL_MAX_SIZE": "2"},
            "DATABASE_POOL_MIN_SIZE (5) must not exceed DATABASE_POOL_MAX_SIZE (2)",
        ),
        ({"SECRET_KEY": "k", "EMBEDDED_THREADS": "0"}, "EMBEDDED_THREADS"),
        ({"SECRET_KEY": "k", "PAGING_THROTTLE_LIMITS": "sms=5"}, "PAGING_THROTTLE_LIMITS"),
        ({"SECRET_KEY": "k", "PAGING_BUSINESS_HOURS": "18-8"}, "PAGING_BUSINESS_HOURS"),
        ({"SECRET_KEY": "k", "SIGNIN_LINK_PER_ADDRESS": "0"}, "SIGNIN_LINK_PER_ADDRESS"),
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


def test_secret_key_is_read_from_the_key_file_when_unset(tmp_path) -> None:
    # What `make run` leaves behind: manage.py commands pasted from the README then work.
    key_file = tmp_path / "secret_key"
    key_file.write_text("from-the-file\n")
    script = (
        "import django; django.setup(); from django.conf import settings;"
        " print(settings.SECRET_KEY)"
    )
    clean = {
        k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DJANGO_SETTINGS_MODULE")
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "oncall.settings",
            "SECRET_KEY_FILE": str(key_file),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "from-the-file"


def _settings_print(env: dict[str, str], expression: str) -> object:
    """``expression`` (JSON) as the real settings module builds ``settings`` from ``env``
    (the variables the test process has, less DATABASE* and DJANGO*)."""
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({expression}))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "DJANGO"))}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "oncall.settings", "SECRET_KEY": "k", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _database_settings(env: dict[str, str]) -> object:
    """settings.DATABASES["default"] as the real settings module builds it from ``env``."""
    return _settings_print(
        env,
        "{'pool': settings.DATABASES['default'].get('OPTIONS', {}).get('pool'),"
        " 'max_age': settings.DATABASES['default']['CONN_MAX_AGE']}",
    )


def test_postgres_connections_come_from_a_bounded_pool_or_one_per_request() -> None:
    url = "postgres://oncall@db.example:5432/oncall"
    pooled = _database_settings({"DATABASE_URL": url, "DATABASE_POOL_MAX_SIZE": "7"})
    assert pooled == {"pool": {"min_size": 1, "max_size": 7, "timeout": 10}, "max_age": 0}
    unpooled = _database_settings({"DATABASE_URL": url, "DATABASE_POOL": "false"})
    assert unpooled == {"pool": None, "max_age": 0}
    sqlite = _database_settings({"DATABASE_URL": "sqlite:///x.sqlite3"})
    assert sqlite == {"pool": None, "max_age": 0}


def _settings_json(env: dict[str, str], names: list[str]) -> object:
    return _settings_print(env, f"{{n: getattr(settings, n) for n in {names!r}}}")


def test_settings_once_read_with_a_default_in_the_code_come_from_the_environment() -> None:
    names = [
        "PAGING_THROTTLE_LIMITS",
        "PAGING_BUSINESS_HOURS",
        "SMS_REPLY_CODE_REUSE_AFTER_SECONDS",
        "SIGNIN_LINK_MAX_AGE_SECONDS",
    ]
    assert _settings_json({"ACK_LINK_MAX_AGE_SECONDS": "7200"}, names) == {
        "PAGING_THROTTLE_LIMITS": None,  # the channels' defaults
        "PAGING_BUSINESS_HOURS": [8, 18],
        "SMS_REPLY_CODE_REUSE_AFTER_SECONDS": 7200,  # follows the link lifetime
        "SIGNIN_LINK_MAX_AGE_SECONDS": 900,
    }
    env = {
        "PAGING_THROTTLE_LIMITS": "sms:2",
        "PAGING_BUSINESS_HOURS": "9-17",
        "SMS_REPLY_CODE_REUSE_AFTER_SECONDS": "600",
        "SIGNIN_LINK_MAX_AGE_SECONDS": "300",
    }
    assert _settings_json(env, names) == {
        "PAGING_THROTTLE_LIMITS": {"sms": 2},
        "PAGING_BUSINESS_HOURS": [9, 17],
        "SMS_REPLY_CODE_REUSE_AFTER_SECONDS": 600,
        "SIGNIN_LINK_MAX_AGE_SECONDS": 300,
    }
