"""Headers: CSP (self only), Permissions-Policy, no-store on pages with tokens or ack
forms; with SECURE_COOKIES on, HSTS, secure cookies and HTTPS redirects; and
``manage.py check --deploy`` clean with the production settings of README "Security"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from paging.channels.links.tokens import link_token
from tests.factories import EngineerFactory, UserFactory
from tests.paging.factories import IncidentFactory, IntegrationFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
# Exactly the production variables README "Security" lists (plus a real-looking key).
PRODUCTION_ENV = {
    "SECRET_KEY": "k" * 10 + "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ",
    "ALLOWED_HOSTS": "oncall.example.com",
    "PUBLIC_BASE_URL": "https://oncall.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://oncall.example.com",
    "SECURE_COOKIES": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO",
    "HEALTHZ_TOKEN": "a-long-random-healthz-token",
}


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    base["DATABASE_URL"] = "sqlite:////tmp/oncall-check-deploy.sqlite3"
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "oncall.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_documented_production_settings() -> None:
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_without_https_settings_check_deploy_names_what_is_missing() -> None:
    env = {**PRODUCTION_ENV, "SECURE_COOKIES": "false"}
    result = _run(["manage.py", "check", "--deploy"], env)
    for code in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert code in result.stdout + result.stderr


HTTPS_PROBE = """
import django
django.setup()
from django.test import Client
from django.conf import settings
c = Client()
plain = c.get("/healthz")
print("redirect", plain.status_code, plain.get("Location"))
secure = c.get("/admin/login/", HTTP_X_FORWARDED_PROTO="https")
print("hsts", secure.get("Strict-Transport-Security"))
print("csrf-cookie-secure", bool(secure.cookies["csrftoken"]["secure"]))
print("session-secure", settings.SESSION_COOKIE_SECURE)
print("admin-plain", c.get("/admin/login/").status_code)
"""


def test_secure_cookies_turn_on_hsts_secure_cookies_and_redirects() -> None:
    env = {**PRODUCTION_ENV, "ALLOWED_HOSTS": "testserver"}
    result = _run(["-c", HTTPS_PROBE], env)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    # /healthz stays plain HTTP for load balancers; everything else is sent to HTTPS.
    assert "redirect 503 None" in out or "redirect 200 None" in out
    assert "admin-plain 301" in out
    assert "hsts max-age=31536000; includeSubDomains; preload" in out
    assert "csrf-cookie-secure True" in out and "session-secure True" in out


def test_csp_and_permissions_policy_on_pages() -> None:
    for path in ("/admin/login/", "/api/docs/", "/healthz"):
        response = Client().get(path)
        csp = response["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp, path
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert "camera=()" in response["Permissions-Policy"]
        assert response["X-Content-Type-Options"] == "nosniff"


def test_no_store_on_pages_with_tokens_or_ack_forms() -> None:
    incident = IncidentFactory()
    engineer = EngineerFactory()
    token = link_token(incident_id=incident.pk, engineer_id=engineer.pk, action="acknowledge")
    link = Client().get(f"/l/{token}/")
    assert link.status_code == 200 and "<form" in link.content.decode()
    assert "no-store" in link["Cache-Control"]

    integration = IntegrationFactory()
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = admin.get(f"/admin/paging/integration/{integration.pk}/change/")
    assert integration.token in page.content.decode()
    assert "no-store" in page["Cache-Control"]

    api = Client()
    api.force_login(engineer.user)
    me_token = api.post("/api/v1/me/token/")
    assert me_token.status_code in (200, 201) and "no-store" in me_token["Cache-Control"]
