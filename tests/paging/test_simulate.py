"""`manage.py simulate`: the real engine on a virtual clock, rolled back afterwards."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from oncall.people.models import Engineer
from paging.models import Incident, Message, Service

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"


def run(config: Path | str, scenario: Path) -> str:
    out = StringIO()
    call_command("simulate", str(config), str(scenario), stdout=out)
    return out.getvalue()


def scenario_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return path


def section(out: str, title: str) -> list[str]:
    """The lines of one report section (up to the next blank line)."""
    return out.split(f"\n{title}\n")[1].split("\n\n")[0].splitlines()


def page_rows(out: str) -> list[list[str]]:
    """Offset, kind and destination of each page: what was sent, how, when."""
    rows = []
    for line in section(out, "Pages sent"):
        words = line.split()
        rows.append([words[0], next(w for w in words if w in ("sms", "voice")), words[-2]])
    return rows


def test_prints_who_was_paged_how_and_when_and_leaves_no_trace() -> None:
    out = run(DATA / "sim_config.yaml", DATA / "sim_scenario.yaml")
    assert page_rows(out) == [
        ["+00:00:00", "sms", "+12025550101"],
        ["+00:05:00", "voice", "+12025550101"],
        ["+00:10:00", "sms", "+12125550142"],
    ]
    assert "Marcus Reed" in section(out, "Pages sent")[2]
    assert "acknowledged by Marcus Reed at +00:12:00; resolved by Marcus Reed at +00:40:00" in out
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
    from tests.support import engineer_with_ladder

    alice = engineer_with_ladder("Alice", "+14155550001")
    ServiceFactory(name="checkout", escalation_policy=policy_with_steps([alice]))
    scenario = tmp_path / "s.yaml"
    scenario.write_text("until: 1m\nevents:\n  - {at: 0m, alert: {service: checkout, key: k}}\n")
    out = run("-", scenario)
    assert "sms    Alice" in out
    assert not Incident.objects.exists()
    assert Service.objects.get().name == "checkout"


# --- Issue 17 item 9: the report tells the truth about the scenario ---------------------

ROTA = DATA / "sim_config_rota.yaml"


def alert_then(action: str, *, start: str = "03:00", until: str = "30m") -> str:
    """Alert ``k`` on payments-api at 0m, then Lena's ``action`` (ack, resolve) at 1m."""
    return (
        f"start: 2026-03-02T{start}:00Z\nuntil: {until}\n"
        "events:\n"
        "  - {at: 0m, alert: {service: payments-api, key: k}}\n"
        f"  - {{at: 1m, {action}: {{service: payments-api, key: k, by: lena}}}}\n"
    )


# Paged, resolved a minute later: Marcus (off duty until 03:30 UTC) is never paged.
RESOLVED_AT_ONCE = alert_then("resolve")


@pytest.fixture
def reminders_rescan(monkeypatch: pytest.MonkeyPatch) -> None:
    # The reminder scan runs at most once a minute per process; another test's scan at
    # the same virtual minute must not hide this one's.
    monkeypatch.setattr("paging.shift_reminders._last_scan", None)


def test_open_incidents_and_queued_messages_in_the_database_are_hidden(
    tmp_path: Path, channel, reminders_rescan
) -> None:
    import time_machine

    from paging.engine import tick
    from tests.support import fire

    call_command("oncall_apply", str(DATA / "sim_config.yaml"), stdout=StringIO())
    scenario = scenario_file(
        tmp_path,
        "start: 2026-03-02T03:00:00Z\nuntil: 30m\n"
        "events:\n  - {at: 0m, alert: {service: payments-api, key: db-down}}\n",
    )
    on_empty = run("-", scenario)
    # Three open incidents, one of them with the scenario's key, paged 5 minutes before
    # the scenario starts: their calls are queued for 03:00 and Lena's voice limit (3 per
    # 15 min) would be used up by them.
    from oncall.people.models import ContactMethod

    ContactMethod.objects.update(verified_at="2026-01-01T00:00:00Z")
    service = Service.objects.get(name="payments-api")
    with time_machine.travel("2026-03-02T02:55:00Z", tick=False):
        for key in ("db-down", "disk-full", "cpu-hot"):
            fire(service, key)
        tick()
    assert len(channel.sent) == 3
    assert Message.objects.filter(status="pending", kind="voice").count() == 3

    with_open = run("-", scenario)

    assert (
        page_rows(with_open)
        == page_rows(on_empty)
        == [
            ["+00:00:00", "sms", "+12025550101"],
            ["+00:05:00", "voice", "+12025550101"],
            ["+00:10:00", "sms", "+12125550142"],
        ]
    )
    assert "3 open incident(s) and 6 message(s) in the database were hidden" in with_open
    # The database is as it was: the incidents still open, their calls still queued.
    assert Incident.objects.filter(status="triggered").count() == 3
    assert Message.objects.filter(status="pending", kind="voice").count() == 3


def test_include_existing_lets_the_database_take_part(tmp_path: Path, channel) -> None:
    from tests.support import fire

    call_command("oncall_apply", str(DATA / "sim_config.yaml"), stdout=StringIO())
    existing = fire(Service.objects.get(name="payments-api"), "db-down")
    scenario = scenario_file(
        tmp_path,
        "until: 1m\nevents:\n  - {at: 0m, alert: {service: payments-api, key: db-down}}\n",
    )
    out = StringIO()
    call_command("simulate", "-", str(scenario), "--include-existing", stdout=out)
    # The alert joins the incident already open for that key (titled by fire()), whose
    # queued SMS goes out in the run; hidden, a new incident "db-down" would open.
    assert section(out.getvalue(), "Incidents") == [
        f"  #{existing.pk} DB down: triggered — 1 page(s); still triggered at the end (+00:01:00),"
        " next step due at +00:10:00"
    ]
    assert "hidden" not in out.getvalue()
    assert Incident.objects.count() == 1


def test_shift_reminders_are_listed_apart_from_pages(tmp_path: Path, reminders_rescan) -> None:
    scenario = scenario_file(tmp_path, RESOLVED_AT_ONCE)
    out = run(ROTA, scenario)
    pages = section(out, "Pages sent")
    assert len(pages) == 1 and "Lena Fischer" in pages[0] and re.search(r"#\d+$", pages[0])
    # Marcus takes over at 04:30 Berlin (03:30 UTC): his reminder is not a page.
    reminders = section(out, "Shift reminders")
    assert len(reminders) == 1
    assert "Marcus Reed" in reminders[0] and "+12125550142" in reminders[0]
    assert "bundle" not in out


def test_a_reminder_due_while_nothing_else_happens_is_sent(
    tmp_path: Path, reminders_rescan
) -> None:
    # Nothing is due between +00:01 and the end; Marcus's 03:30 UTC shift is reminded an
    # hour ahead, at 02:30 (+01:30), as the real engine's minutely scan would.
    scenario = scenario_file(tmp_path, alert_then("resolve", start="01:00", until="2h"))
    out = run(ROTA, scenario)
    (reminder,) = section(out, "Shift reminders")
    assert reminder.split()[0] == "+01:30:00" and "Marcus Reed" in reminder


def test_an_event_after_until_is_an_error(tmp_path: Path) -> None:
    scenario = scenario_file(
        tmp_path,
        "start: 2026-03-02T03:00:00Z\nuntil: 1h\n"
        "events:\n"
        "  - {at: 0m, alert: {service: payments-api, key: k}}\n"
        "  - {at: 2h, ack: {service: payments-api, key: k}}\n",
    )
    with pytest.raises(CommandError, match=r"events\[1\]\.at: .*after until"):
        run(DATA / "sim_config.yaml", scenario)


def test_a_scenario_longer_than_the_step_limit_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("paging.simulate.MAX_STEPS", 5)
    events = "".join(
        f"  - {{at: {i}m, alert: {{service: payments-api, key: k{i}}}}}\n" for i in range(10)
    )
    scenario = scenario_file(tmp_path, f"start: 2026-03-02T03:00:00Z\nevents:\n{events}")
    with pytest.raises(CommandError, match=r"more than 5 steps.*--max-steps"):
        run(DATA / "sim_config.yaml", scenario)
    # Given room, the same scenario runs to its end.
    out = StringIO()
    call_command(
        "simulate", str(DATA / "sim_config.yaml"), str(scenario), "--max-steps", "1000", stdout=out
    )
    assert " k9: triggered" in out.getvalue()


def test_at_takes_iso_times_and_the_report_shows_utc_and_local_time(
    tmp_path: Path, reminders_rescan
) -> None:
    scenario = scenario_file(
        tmp_path,
        "start: 2026-03-02T03:00:00Z\nuntil: 1h\n"
        "events:\n"
        "  - {at: 0m, alert: {service: payments-api, key: k}}\n"
        "  - {at: '2026-03-02T04:04:00+01:00', ack: {service: payments-api, key: k, by: lena}}\n"
        "  - {at: 2026-03-02T03:08:00Z, resolve: {service: payments-api, key: k, by: lena}}\n",
    )
    out = run(ROTA, scenario)
    ack = next(line for line in section(out, "Timeline") if "acknowledged [" in line)
    # Offset, UTC and the rota's local time (Berlin is UTC+1 in March).
    assert ack.split()[:5] == ["+00:04:00", "03-02", "03:04:00", "UTC", "03-02"]
    assert "04:04:00 CET" in ack
    assert "Europe/Berlin" in out.split("\n\n")[0]
    assert "resolved by Lena Fischer at +00:08:00" in out


def test_an_at_before_start_is_an_error(tmp_path: Path) -> None:
    scenario = scenario_file(
        tmp_path,
        "start: 2026-03-02T03:00:00Z\n"
        "events: [{at: 2026-03-02T02:00:00Z, alert: {service: payments-api, key: k}}]\n",
    )
    with pytest.raises(CommandError, match=r"events\[0\]\.at: .*before start"):
        run(DATA / "sim_config.yaml", scenario)


def test_json_format_gives_timeline_and_pages(tmp_path: Path, reminders_rescan) -> None:
    import json

    scenario = scenario_file(tmp_path, RESOLVED_AT_ONCE)
    out = StringIO()
    call_command("simulate", str(ROTA), str(scenario), "--format", "json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["start"] == "2026-03-02T03:00:00+00:00"
    assert report["time_zone"] == "Europe/Berlin"
    assert report["pages"] == [
        {
            "offset": "+00:00:00",
            "offset_seconds": 0,
            "at": "2026-03-02T03:00:00+00:00",
            "local": "2026-03-02T04:00:00+01:00",
            "kind": "sms",
            "engineer": "Lena Fischer",
            "destination": "+12025550101",
            "incidents": [report["incidents"][0]["id"]],
        }
    ]
    assert [m["purpose"] for m in report["messages"]] == ["reminder"]
    kinds = [e["kind"] for e in report["timeline"]]
    assert kinds[0] == "triggered" and kinds[-1] == "resolved"
    assert report["incidents"][0]["status"] == "resolved"
    assert report["incidents"][0]["outcome"].endswith("resolved by Lena Fischer at +00:01:00")


def test_the_outcome_says_what_happened(tmp_path: Path, reminders_rescan) -> None:
    scenario = scenario_file(tmp_path, alert_then("ack", until="1h"))
    out = run(ROTA, scenario)
    (outcome,) = section(out, "Incidents")
    assert re.match(r"  #\d+ k: triggered — 3 page\(s\); ", outcome)
    assert (
        "acknowledged by Lena Fischer at +00:01:00; re-triggered after ack timeout at +00:06:00;"
        " policy exhausted at +00:26:00 (nobody acknowledged)" in outcome
    )


def test_provider_failures_go_to_the_timeline_not_stderr(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    scenario = scenario_file(
        tmp_path,
        "start: 2026-03-02T03:00:00Z\nuntil: 8m\n"
        "events:\n"
        "  - {at: 0m, fail: {destination: '+12025550101'}}\n"
        "  - {at: 0m, alert: {service: payments-api, key: k}}\n",
    )
    out = run(DATA / "sim_config.yaml", scenario)
    assert "failed" not in capfd.readouterr().err
    log = [line for line in section(out, "Timeline") if "log" in line.split()]
    assert log and "simulated permanent failure" in log[0]
    assert log[0].split()[0] == "+00:00:00"
