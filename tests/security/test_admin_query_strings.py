"""Issue 12 item 4 in the admin: every add page takes its initial values from the query
string (``?engineer=3&start=…``); a value its field cannot read (``x``, an id past 64
bits, a date that is no date) is left out instead of raising in Django's widgets (a
500), and a list filter given a bad value redirects with ``?e=1`` as Django's own do.
Walks every registered model admin, so a new one is covered by itself."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.db import models
from django.test import Client

from tests.factories import EngineerFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

BAD = ["x", str(10**20), "2026-13-99", "-1"]


def _add_pages() -> list[tuple[str, list[str]]]:
    pages = []
    for model in admin.site._registry:
        names = [
            f.name
            for f in model._meta.get_fields()
            if isinstance(f, models.Field) and not f.auto_created and f.editable
        ]
        pages.append((f"/admin/{model._meta.app_label}/{model._meta.model_name}/add/", names))
    return sorted(pages)


@pytest.fixture
def root() -> Client:
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    ("url", "names"), _add_pages(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_add_pages_ignore_initial_values_their_fields_cannot_read(root, url, names) -> None:
    for bad in BAD:
        query = "&".join(f"{name}={bad}" for name in names)
        response = root.get(f"{url}?{query}")
        assert response.status_code in (200, 302, 403, 404), (url, bad, response.status_code)


def test_good_initial_values_are_kept(root) -> None:
    engineer = EngineerFactory()
    page = root.get(
        f"/admin/schedules/timeoff/add/?engineer={engineer.pk}&start=2030-01-02T09:00:00"
    ).content.decode()
    assert 'value="2030-01-02"' in page and 'value="09:00:00"' in page
    assert f'<option value="{engineer.pk}" selected>' in page


def test_a_bad_team_filter_on_engineers_redirects_like_django_filters(root) -> None:
    team = TeamFactory()
    assert root.get(f"/admin/oncall/engineer/?team={team.pk}").status_code == 200
    for bad in BAD:
        response = root.get(f"/admin/oncall/engineer/?team={bad}")
        assert response.status_code == 302 and response["Location"].endswith("/engineer/?e=1")


def _forms() -> list[str]:
    return [url for url, _ in _add_pages()]


@pytest.mark.parametrize("url", _forms())
def test_add_forms_posted_with_values_that_are_no_ids_are_form_errors(root, url) -> None:
    """Every field of the form (inlines too) set to ``x``, an id past 64 bits or 1e999:
    the form comes back with its errors (or is refused), never a 500 from the
    autocomplete or a multiple choice querying the database with it."""
    page = root.get(url)
    if page.status_code != 200:
        return
    html = page.content.decode()
    names = set(re.findall(r'name="([^"]+)"', html)) - {"csrfmiddlewaretoken"}
    management = dict(
        re.findall(
            r'name="([^"]+-(?:TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS)"[^>]*value="(\d*)"', html
        )
    )
    for bad in ("x", str(10**20), str(-(10**20)), "1e999"):
        data = {name: bad for name in names} | management
        response = root.post(url, data)
        assert response.status_code in (200, 302, 400, 403), (url, bad, response.status_code)
