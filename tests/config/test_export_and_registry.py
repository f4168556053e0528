"""oncall_export round trip, the section registry, and the demo loader of oncall_run."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from oncall.config import registry
from oncall.config.apply import config_apply
from oncall.config.loader import load_sections
from oncall.config.registry import ApplyContext, ConfigSection, register_section
from oncall.management.commands.oncall_run import Command as RunCommand
from oncall.people.models import ContactMethod, Engineer, Team
from paging.models import Incident, Integration
from tests.config.conftest import EXAMPLE, row_counts, run_apply, run_export

pytestmark = pytest.mark.django_db


def _empty_database() -> None:
    # Every table, so that sections registered by other apps start from nothing too.
    call_command("flush", interactive=False, verbosity=0)


# transaction=True: flush must run outside a test transaction on PostgreSQL.
@pytest.mark.django_db(transaction=True)
def test_export_apply_export_round_trips(tmp_path) -> None:
    run_apply(EXAMPLE)
    # Something the example does not have: a method without a label, named as kind:value.
    lena = Engineer.objects.get(user__username="lena")
    extra = ContactMethod.objects.create(engineer=lena, kind="voice", value="+12025550188")
    lena.notification_rules.create(contact_method=extra, delay_minutes=15, urgency="high")
    first = tmp_path / "first.yaml"
    call_command("oncall_export", "-o", str(first), stderr=StringIO())
    first_text = first.read_text()
    assert "contact: voice:+12025550188" in first_text
    counts = row_counts()

    # The export applied to the same database changes nothing...
    assert run_apply(first).strip() == "No changes."
    # ...and on an empty database it rebuilds exactly the same state.
    _empty_database()
    assert set(row_counts().values()) == {0}
    run_apply(first)

    assert row_counts() == counts
    assert run_export() == first_text


def test_export_holds_what_the_example_declares() -> None:
    run_apply(EXAMPLE)
    exported = yaml.safe_load(run_export())
    example = yaml.safe_load(EXAMPLE.read_text())

    def canonical(doc: dict[str, Any]) -> dict[str, Any]:
        teams = {t["slug"]: t for t in doc["teams"]}
        engineers = {}
        for e in doc["engineers"]:
            engineers[e["username"]] = {
                "fields": (e["display_name"], e.get("email", ""), e["time_zone"]),
                "teams": sorted((m["team"], m["role"]) for m in e.get("teams", [])),
                "contacts": sorted(
                    (c["kind"], c["value"], c.get("label", "")) for c in e["contact_methods"]
                ),
                "rules": sorted(
                    (r["contact"], r["delay_minutes"], r["urgency"])
                    for r in e["notification_rules"]
                ),
            }
        return {"teams": teams, "engineers": engineers}

    assert canonical(exported) == canonical(example)


def test_phone_numbers_are_exported_as_strings() -> None:
    run_apply(EXAMPLE)
    text = run_export()
    assert "value: '+12025550101'" in text
    assert yaml.safe_load(text)["engineers"][0]["contact_methods"][2]["value"] == "+12025550101"


@pytest.fixture
def extra_section():
    """A section as another app (schedules, paging) would register it."""
    seen: list[Any] = []

    def apply(value: Any, ctx: ApplyContext) -> None:
        for i, name in enumerate(value):
            if ctx.is_declared("engineers", name) is False:
                ctx.fail(f"rotations[{i}]", f"engineer {name!r} is not defined under engineers")
            seen.append(name)
            ctx.record("create", f"rotations[{name}]")

    section = register_section(
        ConfigSection(key="rotations", order=40, apply=apply, export=lambda: list(seen))
    )
    yield seen
    registry.SECTIONS.pop(section.key)


def test_registered_sections_are_accepted_applied_in_order_and_exported(
    extra_section, write
) -> None:
    doc = yaml.safe_load(EXAMPLE.read_text())
    doc = {"rotations": ["lena", "marcus"], **doc}  # written first, applied after engineers

    out = run_apply(write(doc))

    assert "+ rotations[lena]" in out
    assert extra_section == ["lena", "marcus"]
    keys = list(yaml.safe_load(run_export()))
    # Other apps register sections too; ours is exported after the people it refers to.
    assert keys[:2] == ["teams", "engineers"]
    assert "rotations" in keys
    assert keys.index("rotations") > keys.index("engineers")
    doc["rotations"] = ["nobody"]
    with pytest.raises(CommandError, match=r"rotations\[0\]: engineer 'nobody' is not defined"):
        run_apply(write(doc))


def test_people_sections_are_registered_in_documented_order() -> None:
    load_sections()
    assert [(s.key, s.order) for s in registry.sections_in_order()][:2] == [
        ("teams", 10),
        ("engineers", 20),
    ]


def test_load_sections_imports_each_apps_config_section(monkeypatch) -> None:
    imported: list[str] = []
    monkeypatch.setattr("oncall.config.loader._loaded", False)
    monkeypatch.setattr(
        "oncall.config.loader.importlib.util.find_spec",
        lambda name: object() if name == "paging.config_section" else None,
    )
    monkeypatch.setattr("oncall.config.loader.importlib.import_module", imported.append)

    load_sections()

    assert imported == ["oncall.people.config_section", "paging.config_section"]


def test_dry_run_result_lists_the_plan_without_writing() -> None:
    result = config_apply(file="x.yaml", text=EXAMPLE.read_text(), dry_run=True)
    assert result.dry_run
    # with the example's 6 alert rules, 1 inhibit rule, 2 status page groups, 1 subscription
    assert result.counts()["create"] == 71
    assert Team.objects.count() == 0


def test_oncall_run_demo_loads_the_example_once_and_keeps_edits_and_password(
    settings, tmp_path
) -> None:
    settings.VAR_DIR = tmp_path
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8123"
    out = StringIO()
    command = RunCommand(stdout=out)
    command._load_demo(reset=False)

    first = out.getvalue()
    password = (tmp_path / "demo_admin_password").read_text().strip()
    assert f"Demo ready: http://127.0.0.1:8123/admin/  user: admin  password: {password}" in first
    assert (tmp_path / "demo_admin_password").stat().st_mode & 0o777 == 0o600
    integration = Integration.objects.get(kind="alertmanager")
    assert (
        "--data @examples/alerts/alertmanager.json "
        f"http://127.0.0.1:8123/integrations/alertmanager/{integration.token}/" in first
    )
    # Demo phones are verified: SMS and calls are not held back.
    assert not ContactMethod.objects.filter(verified_at__isnull=True).exists()
    # The example's four engineers and the admin (an engineer too: actions name them).
    assert Engineer.objects.count() == 5

    # The user edits the demo; a second start keeps the edit and the password.
    Engineer.objects.filter(user__username="lena").update(time_zone="Asia/Tokyo")
    out.truncate(0)
    command._load_demo(reset=False)
    assert "Demo kept from an earlier start" in out.getvalue()
    assert password not in out.getvalue()
    assert Engineer.objects.get(user__username="lena").time_zone == "Asia/Tokyo"
    assert get_user_model().objects.get(username="admin").check_password(password)

    # DEMO=reset applies the example again, with a new password.
    command._load_demo(reset=True)
    assert Engineer.objects.get(user__username="lena").time_zone == "Europe/Berlin"
    assert not get_user_model().objects.get(username="admin").check_password(password)


def test_demo_alert_sample_pages_the_demo_on_call(settings, tmp_path, client) -> None:
    settings.VAR_DIR = tmp_path
    RunCommand(stdout=StringIO())._load_demo(reset=False)
    integration = Integration.objects.get(kind="alertmanager")
    sample = (EXAMPLE.parent / "alerts" / "alertmanager.json").read_text()
    response = client.post(integration.inbound_path, data=sample, content_type="application/json")
    assert response.status_code == 202, response.content
    incident = Incident.objects.get()
    assert incident.service.name == "kubernetes"
    # The example's alert rule grades critical alerts SEV1: the 5-minute policy pages.
    assert (incident.priority, incident.escalation_policy.name) == (1, "platform-urgent")
    assert incident.status == Incident.Status.TRIGGERED
