"""One-time sign-in links by e-mail: signed, expiring (15 min), single use, rate limited
per address, and the answer never tells whether the address belongs to anyone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from oncall.me.signin_links import signin_link_token
from tests.factories import EngineerFactory

pytestmark = pytest.mark.django_db

SENT = "If that address belongs to an account, a sign-in link is on its way."


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _ask(client: Client, email: str):
    return client.post("/me/login/link/", {"email": email})


def _link_path() -> str:
    url = re.search(r"https://oncall\.example\.test(/me/login/link/\S+/)", mail.outbox[-1].body)
    return url.group(1)


def test_the_login_page_offers_the_link_form() -> None:
    page = Client().get("/me/login/").content.decode()
    assert 'action="/me/login/link/"' in page and "E-mail me a sign-in link" in page


def test_a_link_signs_in_once_and_lands_on_me() -> None:
    engineer = EngineerFactory(user__username="lena", user__email="Lena@Example.test")
    client = Client()
    response = _ask(client, "lena@example.TEST")
    assert response.status_code == 200 and SENT in response.content.decode()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["Lena@Example.test"]
    path = _link_path()
    # Opening the link (a mail scanner too) does not use it up; the POST signs in.
    confirm = client.get(path)
    assert confirm.status_code == 200 and "Sign in as lena?" in confirm.content.decode()
    assert "_auth_user_id" not in client.session
    response = client.post(path)
    assert (response.status_code, response["Location"]) == (302, "/me/")
    assert int(client.session["_auth_user_id"]) == engineer.user.pk
    # Used: refused, in this browser and any other.
    again = Client().post(path)
    assert again.status_code == 400 and "used already" in again.content.decode()
    assert "_auth_user_id" not in Client().session


def test_an_unknown_address_gets_the_same_answer_and_no_mail() -> None:
    EngineerFactory(user__email="lena@example.test")
    known = _ask(Client(), "lena@example.test")
    unknown = _ask(Client(), "nobody@example.test")
    assert unknown.status_code == known.status_code == 200
    strip = lambda r: re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", r.content.decode())  # noqa: E731
    assert strip(unknown) == strip(known)
    assert [m.to for m in mail.outbox] == [["lena@example.test"]]


def test_an_expired_link_is_refused() -> None:
    EngineerFactory(user__email="lena@example.test")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        _ask(Client(), "lena@example.test")
        path = _link_path()
        clock.shift(timedelta(minutes=15, seconds=1))
        client = Client()
        response = client.post(path)
    assert response.status_code == 410 and "expired" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_link_still_works_just_before_it_expires() -> None:
    EngineerFactory(user__email="lena@example.test")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        _ask(Client(), "lena@example.test")
        clock.shift(timedelta(minutes=14, seconds=59))
        assert Client().post(_link_path()).status_code == 302


def test_a_tampered_link_is_refused() -> None:
    victim = EngineerFactory(user__email="boss@example.test").user
    EngineerFactory(user__email="lena@example.test")
    _ask(Client(), "lena@example.test")
    token = _link_path().split("/")[-2]
    forged_payload = signin_link_token(user=victim).split(":")[0]
    for bad in (
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        forged_payload + token[token.index(":") :],
        "x",
    ):
        client = Client()
        response = client.post(f"/me/login/link/{bad}/")
        assert response.status_code == 400 and "not valid" in response.content.decode()
        assert "_auth_user_id" not in client.session


def test_signing_in_with_a_password_retires_older_links() -> None:
    engineer = EngineerFactory(user__email="lena@example.test")
    _ask(Client(), "lena@example.test")
    path = _link_path()
    Client().force_login(engineer.user)
    assert Client().post(path).status_code == 400


def test_an_inactive_user_gets_no_link_and_old_links_stop() -> None:
    engineer = EngineerFactory(user__email="lena@example.test")
    token = signin_link_token(user=engineer.user)
    engineer.user.is_active = False
    engineer.user.save()
    assert _ask(Client(), "lena@example.test").status_code == 200 and not mail.outbox
    assert Client().post(f"/me/login/link/{token}/").status_code == 400


def test_asking_is_rate_limited_per_address_whoever_it_belongs_to() -> None:
    EngineerFactory(user__email="lena@example.test")
    for email in ("lena@example.test", "nobody@example.test"):
        for _ in range(3):
            assert _ask(Client(), email).status_code == 200
        limited = _ask(Client(), email.upper())
        assert limited.status_code == 429 and "too many sign-in links" in limited.content.decode()
        assert limited["Retry-After"] == "900"
    assert len(mail.outbox) == 3
    assert _ask(Client(), "other@example.test").status_code == 200


@pytest.mark.parametrize("email", ["", "not-an-address"])
def test_a_bad_address_is_a_400_on_the_field(email: str) -> None:
    response = _ask(Client(), email)
    assert response.status_code == 400 and 'class="errorlist"' in response.content.decode()
    assert not mail.outbox
