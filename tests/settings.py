"""Test settings: the real settings, with safe defaults for variables tests do not set."""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("PUBLIC_BASE_URL", "https://oncall.example.test")

from oncall.settings import *  # noqa: E402,F403

# Fast hashing: tests create many users; production keeps Django's default hashers.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Live-server threads (browser tests) must not keep connections open past a request,
# or PostgreSQL refuses to drop the test database at teardown.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# The test process connects per test thread (live server, concurrency tests) and drops
# the test database at the end: no pool here. The pool itself is exercised by the
# embedded-server tests, which start `manage.py oncall_run` with the real settings.
DATABASES["default"].get("OPTIONS", {}).pop("pool", None)  # noqa: F405

# Throttle counters per test process, cleared before each test (tests/conftest.py),
# whatever broker the run points at.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# /healthz details for callers with this bearer token (tests that read the checks).
HEALTHZ_TOKEN = "test-healthz-token"
