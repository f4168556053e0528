"""Login and API token failures are limited per client address and per username
(django-axes, in the database): the 5th failure within 15 minutes, and every try after
it, is a 429 with Retry-After, logged and counted on /metrics; the lock-out expires."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.factories import EngineerFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture
def clock_start() -> datetime:
    return T0


@pytest.fixture
def root(db):
    return get_user_model().objects.create_superuser("root", "root@example.test", "right-pw-1")


def admin_login(password: str, *, username: str = "root", address: str = "203.0.113.7"):
    return Client(REMOTE_ADDR=address).post(
        ADMIN_LOGIN, {"username": username, "password": password, "next": "/admin/"}
    )


def test_admin_login_locks_out_after_5_failures_then_expires(clock, root, caplog) -> None:
    for _ in range(4):
        response = admin_login("wrong")
        assert response.status_code == 200  # the form again, with an error
    assert admin_login("wrong").status_code == 429
    # Locked out: the right password too is refused, with Retry-After.
    with caplog.at_level(logging.WARNING, logger="oncall.security.lockout"):
        locked = admin_login("right-pw-1")
    assert locked.status_code == 429
    assert locked["Retry-After"] == "900"
    assert "login locked out" in caplog.text and "right-pw-1" not in caplog.text
    clock.shift(timedelta(minutes=10))
    response = admin_login("right-pw-1")
    assert response.status_code == 429 and int(response["Retry-After"]) <= 300
    # 15 minutes after the last failure the lock-out is over.
    clock.shift(timedelta(minutes=15, seconds=1))
    response = admin_login("right-pw-1")
    assert (response.status_code, response["Location"]) == (302, "/admin/")


def test_the_username_is_locked_from_every_address(clock, root) -> None:
    for n in range(5):
        admin_login("wrong", address=f"198.51.100.{n + 1}")
    assert admin_login("right-pw-1", address="192.0.2.99").status_code == 429
    # Another user from a fresh address is not affected.
    get_user_model().objects.create_superuser("ops", "ops@example.test", "ops-pw-123")
    assert admin_login("ops-pw-123", username="ops", address="192.0.2.98").status_code == 302


def test_the_address_is_locked_for_every_username(clock, root) -> None:
    for n in range(5):
        admin_login("wrong", username=f"guess{n}")
    assert admin_login("right-pw-1").status_code == 429
    assert admin_login("right-pw-1", address="192.0.2.50").status_code == 302


def test_behind_a_proxy_the_forwarded_address_is_counted(clock, root, settings) -> None:
    settings.CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"

    def via_proxy(client_address: str, password: str):
        return Client(REMOTE_ADDR="10.0.0.2").post(
            ADMIN_LOGIN,
            {"username": f"guess-{password}", "password": password},
            # The client may send its own X-Forwarded-For: only the proxy's entry counts.
            HTTP_X_FORWARDED_FOR=f"1.2.3.{len(password)}, {client_address}",
        )

    for n in range(5):
        via_proxy("198.51.100.1", "x" * (n + 1))
    assert via_proxy("198.51.100.1", "again").status_code == 429
    assert via_proxy("198.51.100.2", "other").status_code == 200  # another client


def test_drf_login_view_is_limited_too(clock, root) -> None:
    client = Client(REMOTE_ADDR="203.0.113.8")
    for _ in range(5):
        client.post("/api-auth/login/", {"username": "root", "password": "nope"})
    response = client.post("/api-auth/login/", {"username": "root", "password": "right-pw-1"})
    assert response.status_code == 429 and response["Retry-After"]


def api_get(token: str, address: str = "203.0.113.9"):
    return Client(REMOTE_ADDR=address).get("/api/v1/teams/", HTTP_AUTHORIZATION=f"Token {token}")


def test_made_up_api_tokens_lock_the_address_out(clock, db, caplog) -> None:
    engineer = EngineerFactory()
    good = Token.objects.create(user=engineer.user).key
    codes = [api_get(f"made-up-token-{n}").status_code for n in range(5)]
    assert codes == [401, 401, 401, 401, 429]
    with caplog.at_level(logging.INFO):
        locked = api_get(good)
    assert locked.status_code == 429
    assert locked["Retry-After"] == "900"
    assert "made-up-token" not in caplog.text and good not in caplog.text
    # Another address with the good token is fine; the locked one again after 15 min.
    assert api_get(good, address="192.0.2.1").status_code == 200
    clock.shift(timedelta(minutes=15, seconds=1))
    assert api_get(good).status_code == 200


def test_lockouts_are_counted_on_metrics(clock, root) -> None:
    for _ in range(6):
        admin_login("wrong")
    api_get("made-up")
    text = Client().get("/metrics").content.decode()
    # 5 admin failures (the 6th try was refused unchecked) and one token.
    assert "\noncall_auth_failures_total 6\n" in text
    assert "\noncall_auth_lockouts_total 1\n" in text


def test_authenticated_api_use_is_throttled(clock, db, settings) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_user": "3/min"},
    }
    engineer = EngineerFactory()
    token = Token.objects.create(user=engineer.user).key
    codes = [api_get(token).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert int(api_get(token)["Retry-After"]) <= 60
    # Another user has their own count.
    other = Token.objects.create(user=EngineerFactory().user).key
    assert api_get(other).status_code == 200
    clock.shift(timedelta(seconds=61))
    assert api_get(token).status_code == 200


def test_the_api_throttle_fails_open_when_redis_is_down(db, settings, caplog, monkeypatch) -> None:
    from oncall.security import throttling

    monkeypatch.setattr(throttling, "_last_warning", 0.0)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    token = Token.objects.create(user=EngineerFactory().user).key
    with caplog.at_level(logging.WARNING, logger="oncall.security.throttling"):
        assert api_get(token).status_code == 200
    assert "API throttle skipped: the cache is unreachable" in caplog.text
