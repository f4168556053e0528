"""oncall_apply: idempotence, dry run, report vs. prune, verified state, Django users."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model

from oncall.people.models import ContactMethod, Engineer, NotificationRule, Team, TeamMembership
from tests.config.conftest import EXAMPLE, row_counts, run_apply, snapshot

pytestmark = pytest.mark.django_db

User = get_user_model()


def test_example_applies_the_whole_directory() -> None:
    out = run_apply(EXAMPLE)

    assert "+ teams[platform]: name='Platform'" in out
    assert "+ engineers[lena]: display_name='Lena Fischer', time_zone='Europe/Berlin'" in out
    # 39 people rows + 29 others (priorities, integration limits, schedules, policies,
    # services…, 6 alert rules and an inhibit rule)
    # + 2 status page groups and 1 stakeholder subscription (incident response)
    assert "Applied: 71 created, 0 updated, 0 deleted." in out
    assert row_counts() == {
        "User": 4,
        "Team": 2,
        "Engineer": 4,
        "TeamMembership": 5,
        "ContactMethod": 13,
        "NotificationRule": 15,
    }
    lena = Engineer.objects.get(user__username="lena")
    assert lena.time_zone == "Europe/Berlin"
    assert lena.user.email == "lena.fischer@example.com"
    ladder = [
        (r.contact_method.kind, r.delay_minutes)
        for r in lena.notification_rules.filter(urgency="high").order_by("delay_minutes")
    ]
    assert ladder == [("slack", 0), ("sms", 1), ("voice", 5)]
    priya = Engineer.objects.get(user__username="priya")
    assert {(m.team.slug, m.role) for m in priya.memberships.all()} == {
        ("platform", "admin"),
        ("data", "admin"),
    }


def test_second_apply_changes_nothing_and_says_so() -> None:
    run_apply(EXAMPLE)
    before = snapshot()

    out = run_apply(EXAMPLE)

    assert out.strip() == "No changes."
    assert snapshot() == before


def test_users_get_no_password_from_the_file_and_existing_users_keep_theirs() -> None:
    existing = User.objects.create_user("marcus", "old@example.com", password="s3cret-pass")

    run_apply(EXAMPLE)

    lena = User.objects.get(username="lena")
    assert not lena.has_usable_password()
    existing.refresh_from_db()
    assert existing.check_password("s3cret-pass")
    assert existing.email == "marcus.reed@example.com"
    assert existing.engineer.display_name == "Marcus Reed"


def test_update_reports_field_diffs(example_doc, write) -> None:
    run_apply(EXAMPLE)
    example_doc["engineers"][0]["time_zone"] = "Europe/Paris"
    example_doc["engineers"][0]["teams"][0]["role"] = "admin"
    example_doc["teams"][1]["description"] = "Kafka."

    out = run_apply(write(example_doc))

    assert "~ engineers[lena]: time_zone 'Europe/Berlin' -> 'Europe/Paris'" in out
    assert "~ engineers[lena].teams[platform]: role 'member' -> 'admin'" in out
    assert "~ teams[data]: description" in out
    assert "Applied: 0 created, 3 updated, 0 deleted." in out
    assert Engineer.objects.get(user__username="lena").time_zone == "Europe/Paris"


def test_dry_run_prints_the_plan_and_changes_nothing(example_doc, write) -> None:
    out = run_apply(EXAMPLE, "--dry-run")
    assert "dry run, nothing changed" in out
    assert "+ engineers[tom].contact_methods[sms:+16175550119]: label='mobile-sms'" in out
    assert "Would apply: 71 to create, 0 to update, 0 to delete." in out
    assert set(row_counts().values()) == {0}

    run_apply(EXAMPLE)
    before = snapshot()
    example_doc["engineers"][1]["display_name"] = "Marcus J. Reed"
    del example_doc["engineers"][3]  # tom
    example_doc["schedules"][1]["layers"][0]["members"] = ["marcus"]  # tom's schedule
    out = run_apply(write(example_doc), "--dry-run", "--prune")

    assert "~ engineers[marcus]: display_name 'Marcus Reed' -> 'Marcus J. Reed'" in out
    assert "- engineers[tom]" in out
    assert snapshot() == before


def _people_only(doc: dict) -> dict:
    """The example's people sections: these tests remove a team that schedules use."""
    return {key: doc[key] for key in ("teams", "engineers")}


def test_missing_objects_are_reported_and_kept_without_prune(example_doc, write) -> None:
    example_doc = _people_only(example_doc)
    run_apply(write(example_doc))
    del example_doc["engineers"][3]  # tom
    del example_doc["teams"][1]  # data: priya's membership goes too
    example_doc["engineers"][2]["teams"] = [{"team": "platform", "role": "admin"}]
    lena = example_doc["engineers"][0]
    lena["contact_methods"] = [c for c in lena["contact_methods"] if c["kind"] != "email"]
    lena["notification_rules"] = [
        r for r in lena["notification_rules"] if r["contact"] != "work-email"
    ]
    before = snapshot()

    out = run_apply(write(example_doc))

    assert "No changes." in out
    assert "object(s) in the database are not in the file" in out
    for line in (
        "? teams[data]",
        "? engineers[tom]",
        "? engineers[priya].teams[data]",
        "? engineers[lena].contact_methods[email:lena.fischer@example.com]",
        "? engineers[lena].notification_rules[email:lena.fischer@example.com +0min low]",
    ):
        assert line in out
    assert snapshot() == before


def test_prune_deletes_what_the_file_no_longer_mentions(example_doc, write) -> None:
    example_doc = _people_only(example_doc)
    run_apply(write(example_doc))
    del example_doc["engineers"][3]  # tom
    del example_doc["teams"][1]  # data
    example_doc["engineers"][2]["teams"] = [{"team": "platform", "role": "admin"}]
    lena = example_doc["engineers"][0]
    lena["contact_methods"] = [c for c in lena["contact_methods"] if c["kind"] != "email"]
    lena["notification_rules"] = [
        r for r in lena["notification_rules"] if r["contact"] != "work-email"
    ]
    path = write(example_doc)

    out = run_apply(path, "--prune")

    assert "- teams[data]" in out
    assert "- engineers[tom]: engineer removed; the Django user account is kept" in out
    assert "- engineers[lena].contact_methods[email:lena.fischer@example.com]" in out
    assert not Team.objects.filter(slug="data").exists()
    assert not Engineer.objects.filter(user__username="tom").exists()
    assert User.objects.filter(username="tom").exists()
    assert not ContactMethod.objects.filter(kind="email", engineer__user__username="lena").exists()
    assert TeamMembership.objects.count() == 3
    # Now file and database agree.
    assert run_apply(path).strip() == "No changes."


def test_users_without_an_engineer_profile_are_not_reported() -> None:
    User.objects.create_superuser("admin", "admin@example.com", "pw")
    run_apply(EXAMPLE)
    assert "admin" not in run_apply(EXAMPLE)


def test_verified_state_survives_reapply_while_the_value_stays(example_doc, write) -> None:
    run_apply(EXAMPLE)
    verified_at = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    sms = ContactMethod.objects.get(engineer__user__username="lena", kind="sms")
    sms.verified_at = verified_at
    sms.save()

    # A new label keeps the method (and its verification).
    example_doc["engineers"][0]["contact_methods"][1]["label"] = "phone-sms"
    for rule in example_doc["engineers"][0]["notification_rules"]:
        if rule["contact"] == "mobile-sms":
            rule["contact"] = "phone-sms"
    out = run_apply(write(example_doc))
    assert (
        "~ engineers[lena].contact_methods[sms:+12025550101]: label 'mobile-sms' -> 'phone-sms'"
        in out
    )
    sms.refresh_from_db()
    assert (sms.label, sms.verified_at) == ("phone-sms", verified_at)

    # A new number is a new method that must be verified again.
    example_doc["engineers"][0]["contact_methods"][1]["value"] = "+12025550102"
    run_apply(write(example_doc), "--prune")
    new = ContactMethod.objects.get(engineer__user__username="lena", kind="sms")
    assert (new.value, new.verified_at) == ("+12025550102", None)
    assert NotificationRule.objects.filter(contact_method=new, delay_minutes=1).exists()


def test_rules_name_contacts_by_kind_value_too(example_doc, write) -> None:
    tom = example_doc["engineers"][3]
    tom["notification_rules"] = [{"contact": "sms:+16175550119", "delay_minutes": 0}]
    run_apply(write(example_doc))
    rule = NotificationRule.objects.get(engineer__user__username="tom")
    assert (rule.contact_method.kind, rule.delay_minutes, rule.urgency) == ("sms", 0, "high")


def test_team_reference_may_name_an_existing_team_when_the_file_has_no_teams(write) -> None:
    Team.objects.create(slug="sre", name="SRE")
    doc = {
        "engineers": [
            {"username": "ana", "display_name": "Ana", "teams": [{"team": "sre"}]},
        ]
    }
    out = run_apply(write(doc))
    assert "+ engineers[ana].teams[sre]: role='member'" in out
    # The file has no teams section, so teams are neither reported nor pruned.
    run_apply(write(doc), "--prune")
    assert Team.objects.filter(slug="sre").exists()


def test_empty_file_changes_nothing(write) -> None:
    run_apply(EXAMPLE)
    before = snapshot()
    assert run_apply(write("# nothing here\n")).strip() == "No changes."
    assert snapshot() == before


def test_verbosity_zero_applies_quietly() -> None:
    out = run_apply(EXAMPLE, "--verbosity", "0")
    assert out == ""
    assert Engineer.objects.count() == 4


def _rules(username: str) -> list[tuple[str, int, str]]:
    return sorted(
        NotificationRule.objects.filter(engineer__user__username=username).values_list(
            "contact_method__kind", "delay_minutes", "urgency"
        )
    )


def test_editing_a_rule_delay_updates_that_rule(example_doc, write) -> None:
    run_apply(EXAMPLE)
    before = _rules("lena")
    rule = NotificationRule.objects.get(
        engineer__user__username="lena", contact_method__kind="voice", urgency="high"
    )
    example_doc["engineers"][0]["notification_rules"][2]["delay_minutes"] = 10  # call: 5 -> 10

    out = run_apply(write(example_doc))

    assert "~ engineers[lena].notification_rules[voice:+12025550101 +5min high]:" in out
    assert "delay_minutes 5 -> 10" in out
    assert "Applied: 0 created, 1 updated, 0 deleted." in out
    assert "not in the file" not in out  # no old rule kept beside the new one
    assert _rules("lena") == sorted(
        [r for r in before if r != ("voice", 5, "high")] + [("voice", 10, "high")]
    )
    assert NotificationRule.objects.get(pk=rule.pk).delay_minutes == 10
    assert "No changes." in run_apply(write(example_doc))


def test_several_rules_on_one_contact_are_told_apart_by_delay(example_doc, write) -> None:
    lena = example_doc["engineers"][0]
    lena["notification_rules"].append({"contact": "mobile-call", "delay_minutes": 15})
    run_apply(write(example_doc))
    assert [d for k, d, u in _rules("lena") if (k, u) == ("voice", "high")] == [5, 15]

    lena["notification_rules"][-1]["delay_minutes"] = 20  # the second call: 15 -> 20
    out = run_apply(write(example_doc))
    assert "notification_rules[voice:+12025550101 +15min high]: delay_minutes 15 -> 20" in out
    assert [d for k, d, u in _rules("lena") if (k, u) == ("voice", "high")] == [5, 20]

    del lena["notification_rules"][-1]  # one call fewer: the 20-minute one is missing
    out = run_apply(write(example_doc), "--prune")
    assert "- engineers[lena].notification_rules[voice:+12025550101 +20min high]" in out
    assert [d for k, d, u in _rules("lena") if (k, u) == ("voice", "high")] == [5]
