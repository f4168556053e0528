"""Sign in for engineers (/me/login/): Django's auth views, axes' lock-out, password
reset by e-mail; everyone lands on /me/, DRF's /api-auth/login/ too."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from tests.factories import TEST_PASSWORD, EngineerFactory, UserFactory

pytestmark = pytest.mark.django_db


def login(client: Client, username: str, password: str, **extra):
    return client.post("/me/login/", {"username": username, "password": password, **extra})


def test_an_engineer_signs_in_and_lands_on_me() -> None:
    engineer = EngineerFactory(
        user__username="lena", display_name="Lena", time_zone="Europe/Berlin"
    )
    client = Client()
    response = login(client, "lena", TEST_PASSWORD)
    assert (response.status_code, response["Location"]) == (302, "/me/")
    page = client.get("/me/")
    assert page.status_code == 200
    assert "Lena" in page.content.decode() and "Europe/Berlin" in page.content.decode()
    assert engineer.user.pk == int(client.session["_auth_user_id"])


def test_staff_land_on_me_with_a_link_to_the_admin() -> None:
    EngineerFactory(user__username="boss", user__is_staff=True)
    client = Client()
    assert login(client, "boss", TEST_PASSWORD)["Location"] == "/me/"
    assert 'href="/admin/"' in client.get("/me/").content.decode()


def test_a_user_without_an_engineer_gets_a_clear_page_not_an_error() -> None:
    UserFactory(username="ops", is_staff=True)
    client = Client()
    login(client, "ops", TEST_PASSWORD)
    page = client.get("/me/")
    assert page.status_code == 403
    text = page.content.decode()
    assert "not an engineer" in text and 'href="/admin/"' in text
    UserFactory(username="plain")
    other = Client()
    login(other, "plain", TEST_PASSWORD)
    page = other.get("/me/")
    assert page.status_code == 403 and "Ask a team admin" in page.content.decode()


def test_drf_login_no_longer_lands_on_a_404() -> None:
    EngineerFactory(user__username="dev")
    client = Client()
    response = client.post("/api-auth/login/", {"username": "dev", "password": TEST_PASSWORD})
    assert (response.status_code, response["Location"]) == (302, "/me/")
    assert client.get("/me/").status_code == 200


def test_anonymous_is_sent_to_sign_in_and_back() -> None:
    response = Client().get("/me/")
    assert (response.status_code, response["Location"]) == (302, "/me/login/?next=/me/")


def test_a_wrong_password_is_a_form_error_and_no_session() -> None:
    EngineerFactory(user__username="lena")
    client = Client()
    response = login(client, "lena", "nope")
    assert response.status_code == 200
    assert "Username or password is not right" in response.content.decode()
    assert "_auth_user_id" not in client.session
    empty = login(client, "", "")
    assert empty.status_code == 200 and "This field is required" in empty.content.decode()


def test_an_outside_next_is_ignored() -> None:
    EngineerFactory(user__username="lena")
    response = login(Client(), "lena", TEST_PASSWORD, next="https://evil.example/")
    assert response["Location"] == "/me/"


def test_the_lockout_answers_429_on_the_engineer_login() -> None:
    EngineerFactory(user__username="lena")
    client = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(4):
        assert login(client, "lena", "wrong").status_code == 200
    assert login(client, "lena", "wrong").status_code == 429
    locked = login(client, "lena", TEST_PASSWORD)
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session


def test_sign_out_is_a_post() -> None:
    engineer = EngineerFactory()
    client = Client()
    client.force_login(engineer.user)
    assert client.get("/me/logout/").status_code == 405
    response = client.post("/me/logout/")
    assert (response.status_code, response["Location"]) == (302, "/me/login/")
    assert client.get("/me/").status_code == 302


def test_password_reset_by_email_end_to_end() -> None:
    EngineerFactory(user__username="lena", user__email="lena@example.test")
    client = Client()
    response = client.post("/me/password-reset/", {"email": "lena@example.test"})
    assert (response.status_code, response["Location"]) == (302, "/me/password-reset/sent/")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["lena@example.test"]
    link = re.search(r"http://testserver(/me/password-reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200 and "Set a new password" in form.content.decode()
    set_url = form.redirect_chain[-1][0]
    mismatch = client.post(set_url, {"new_password1": "A-long-pass-42", "new_password2": "other"})
    assert mismatch.status_code == 200 and "didn’t match" in mismatch.content.decode()
    done = client.post(
        set_url, {"new_password1": "A-long-pass-42", "new_password2": "A-long-pass-42"}
    )
    assert done["Location"] == "/me/password-reset/done/"
    assert login(Client(), "lena", "A-long-pass-42")["Location"] == "/me/"
    # The link works once.
    again = Client().get(link, follow=True)
    assert "does not work any more" in again.content.decode()


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same() -> None:
    response = Client().post("/me/password-reset/", {"email": "nobody@example.test"})
    assert response["Location"] == "/me/password-reset/sent/" and mail.outbox == []
    bad = Client().post("/me/password-reset/", {"email": "not-an-address"})
    assert bad.status_code == 200 and "valid email address" in bad.content.decode()


def test_without_an_smtp_host_the_sign_in_mail_goes_to_the_console(monkeypatch) -> None:
    import importlib

    from oncall import settings as project_settings

    monkeypatch.delenv("EMAIL_HOST", raising=False)
    assert importlib.reload(project_settings).EMAIL_BACKEND.endswith("console.EmailBackend")
    monkeypatch.setenv("EMAIL_HOST", "smtp.example.test")
    assert importlib.reload(project_settings).EMAIL_BACKEND.endswith("smtp.EmailBackend")
    monkeypatch.delenv("EMAIL_HOST")
    importlib.reload(project_settings)
