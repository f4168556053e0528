"""`manage.py simulate`: the real engine on a virtual clock, rolled back afterwards."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from oncall.models import Engineer
from paging.models import Incident, Message, Service

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"


def run(config: Path | str, scenario: Path) -> str:
    out = StringIO()
    call_command("simulate", str(config), str(scenario), stdout=out)
    return out.getvalue()


def test_prints_who_was_paged_how_and_when_and_leaves_no_trace() -> None:
    out = run(DATA / "sim_config.yaml", DATA / "sim_scenario.yaml")
    pages = out.split("Pages sent\n")[1].split("\n\n")[0].splitlines()
    assert [line.split()[:2] for line in pages] == [
        ["+00:00:00", "sms"],
        ["+00:05:00", "voice"],
        ["+00:10:00", "sms"],
    ]
    assert "Marcus Reed" in pages[2]
    assert "acknowledged by Marcus Reed at +00:12:00, resolved at +00:40:00" in out
    assert not Service.objects.exists()
    assert not Engineer.objects.exists()
    assert not Incident.objects.exists() and not Message.objects.exists()


def test_ack_before_step_two_pages_only_step_one(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "start: 2026-03-02T03:00:00Z\n"
        "events:\n"
        "  - {at: 0m, alert: {service: payments-api, key: k}}\n"
        "  - {at: 2m, ack: {service: payments-api, key: k, by: lena}}\n"
    )
    out = run(DATA / "sim_config.yaml", scenario)
    pages = out.split("Pages sent\n")[1].split("\n\n")[0].splitlines()
    assert len(pages) == 1 and "Lena Fischer" in pages[0]
    assert "1 pending notification(s) cancelled" in out  # the +5 min call


def test_failing_destination_falls_back(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "start: 2026-03-02T03:00:00Z\nuntil: 8m\n"
        "events:\n"
        "  - {at: 0m, fail: {destination: '+12025550101'}}\n"
        "  - {at: 0m, alert: {service: payments-api, key: k}}\n"
    )
    out = run(DATA / "sim_config.yaml", scenario)
    assert "notification failed [Lena Fischer]: sms to +12025550101" in out
    assert "nobody reachable" in out.lower()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("events: [{at: soon, alert: {}}]", "events[0].at"),
        ("events: [{at: 1m, page: {}}]", "events[0]: give exactly one action"),
        ("events: [{at: 1m, ack: {service: nope, key: k}}]", "events[0].ack.service"),
        ("until: forever", "until"),
        ("- just a list", "expected a mapping"),
    ],
)
def test_bad_scenarios_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(text)
    with pytest.raises(CommandError, match=message.replace("[", r"\[").replace("]", r"\]")):
        run(DATA / "sim_config.yaml", scenario)


def test_dash_uses_the_database_as_it_is(tmp_path: Path) -> None:
    from tests.paging.factories import ServiceFactory, policy_with_steps
    from tests.paging.test_engine import engineer_with_ladder

    alice = engineer_with_ladder("Alice", "+14155550001")
    ServiceFactory(name="checkout", escalation_policy=policy_with_steps([alice]))
    scenario = tmp_path / "s.yaml"
    scenario.write_text("until: 1m\nevents:\n  - {at: 0m, alert: {service: checkout, key: k}}\n")
    out = run("-", scenario)
    assert "sms    Alice" in out
    assert not Incident.objects.exists()
    assert Service.objects.get().name == "checkout"
