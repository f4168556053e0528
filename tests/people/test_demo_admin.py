"""The demo admin is an engineer, so incident actions from the admin name them."""

from __future__ import annotations

import pytest

from oncall.demo import ADMIN_USERNAME, demo_load
from oncall.people.models import Engineer

pytestmark = pytest.mark.django_db


def test_demo_admin_is_an_engineer_and_a_reset_keeps_one(settings, tmp_path) -> None:
    settings.VAR_DIR = tmp_path
    demo_load()
    engineer = Engineer.objects.get(user__username=ADMIN_USERNAME)
    assert (engineer.display_name, engineer.time_zone) == ("Admin", "Europe/Berlin")
    assert engineer.user.is_superuser
    demo_load(reset=True)
    assert Engineer.objects.filter(user__username=ADMIN_USERNAME).count() == 1
