"""A bad file names the file, the path inside it and the problem, and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.management.base import CommandError
from django.db.models import ProtectedError

from oncall.people.models import Team
from tests.config.conftest import EXAMPLE, row_counts, run_apply, snapshot

pytestmark = pytest.mark.django_db

Doc = dict[str, Any]


def _set(path: list[Any], value: Any) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _duplicate_engineer(doc: Doc) -> None:
    doc["engineers"].append(dict(doc["engineers"][0], display_name="Another Lena"))


def _duplicate_team(doc: Doc) -> None:
    doc["teams"].append({"slug": "platform", "name": "Platform Two"})


def _duplicate_team_name(doc: Doc) -> None:
    doc["teams"].append({"slug": "platform-2", "name": "Platform"})


def _unknown_section(doc: Doc) -> None:
    doc["oncall_teams"] = []


# Every error sits in the LAST engineer (tom, engineers[3]) or later, after valid items.
CASES = [
    pytest.param(
        _set(["engineers", 3, "contact_methods", 0, "colour"], "blue"),
        "engineers[3].contact_methods[0].colour",
        "unknown field 'colour'",
        id="unknown-field-nested",
    ),
    pytest.param(
        _set(["engineers", 3, "pager"], True),
        "engineers[3].pager",
        "unknown field 'pager'",
        id="unknown-field-engineer",
    ),
    pytest.param(
        _unknown_section,
        "oncall_teams",
        "unknown section",
        id="unknown-top-level-key",
    ),
    pytest.param(
        # Spaces are tidied as through the API ('+44 20 7946 0000' is fine); no country code is not.
        _set(["engineers", 3, "contact_methods", 1, "value"], "020 7946 0000"),
        "engineers[3].contact_methods[1].value",
        "'02079460000' is not an E.164 phone number",
        id="bad-phone",
    ),
    pytest.param(
        _set(["engineers", 3, "contact_methods", 1, "value"], 16175550119),
        "engineers[3].contact_methods[1].value",
        "expected a string, got an integer",
        id="unquoted-phone",
    ),
    pytest.param(
        _set(["engineers", 3, "contact_methods", 2, "value"], "tom@"),
        "engineers[3].contact_methods[2].value",
        "is not an e-mail address",
        id="bad-email",
    ),
    pytest.param(
        _set(["engineers", 3, "contact_methods", 0, "value"], "@tom"),
        "engineers[3].contact_methods[0].value",
        "is not a Slack member id",
        id="bad-slack-id",
    ),
    pytest.param(
        _set(["engineers", 3, "contact_methods", 0, "kind"], "pigeon"),
        "engineers[3].contact_methods[0].kind",
        "'pigeon' is not one of: voice, sms, email, slack",
        id="bad-kind",
    ),
    pytest.param(
        _set(["engineers", 3, "time_zone"], "Europe/Atlantis"),
        "engineers[3].time_zone",
        "'Europe/Atlantis' is not an IANA time zone name",
        id="unknown-time-zone",
    ),
    pytest.param(
        _duplicate_engineer,
        "engineers[4].username",
        "duplicate: 'lena' is already defined at engineers[0].username",
        id="duplicate-engineer",
    ),
    pytest.param(
        _duplicate_team,
        "teams[2].slug",
        "duplicate: 'platform' is already defined at teams[0].slug",
        id="duplicate-team",
    ),
    pytest.param(
        _duplicate_team_name,
        "teams[2].name",
        "duplicate: 'Platform' is already used at teams[0]",
        id="duplicate-team-name",
    ),
    pytest.param(
        _set(["engineers", 3, "teams", 0, "team"], "database"),
        "engineers[3].teams[0].team",
        "team 'database' is not defined under teams",
        id="unknown-team-reference",
    ),
    pytest.param(
        _set(["engineers", 3, "teams", 0, "role"], "boss"),
        "engineers[3].teams[0].role",
        "'boss' is not one of: member, admin",
        id="bad-role",
    ),
    pytest.param(
        _set(["engineers", 3, "notification_rules", 1, "delay_minutes"], "2"),
        "engineers[3].notification_rules[1].delay_minutes",
        "expected an integer, got a string",
        id="wrong-type-string-for-int",
    ),
    pytest.param(
        _set(["engineers", 3, "contact_methods"], {"kind": "sms"}),
        "engineers[3].contact_methods",
        "expected a list, got a mapping",
        id="wrong-type-mapping-for-list",
    ),
    pytest.param(
        _set(["engineers", 3, "notification_rules", 1, "delay_minutes"], -1),
        "engineers[3].notification_rules[1].delay_minutes",
        "must be 0 or more",
        id="negative-delay",
    ),
    pytest.param(
        _set(["engineers", 3, "notification_rules", 1, "contact"], "pager"),
        "engineers[3].notification_rules[1].contact",
        "no contact method 'pager'",
        id="unknown-contact-reference",
    ),
    pytest.param(
        _set(["engineers", 3, "notification_rules", 1, "urgency"], "critical"),
        "engineers[3].notification_rules[1].urgency",
        "'critical' is not one of: high, low",
        id="bad-urgency",
    ),
    pytest.param(
        _set(["engineers", 3, "display_name"], ""),
        "engineers[3].display_name",
        "must not be empty",
        id="empty-required",
    ),
    pytest.param(
        _set(["engineers", 3, "username"], "tom whitaker!"),
        "engineers[3].username",
        "Enter a valid username",
        id="bad-username",
    ),
]


@pytest.mark.parametrize(("mutate", "where", "problem"), CASES)
def test_error_names_file_path_problem_and_nothing_changes(
    example_doc, write, mutate, where, problem
) -> None:
    mutate(example_doc)
    path = write(example_doc, "bad.yaml")

    with pytest.raises(CommandError) as exc_info:
        run_apply(path)

    message = str(exc_info.value)
    assert message.startswith(f"{path}: {where}: "), message
    assert problem in message
    # Earlier items were valid and written inside the transaction: all rolled back.
    assert set(row_counts().values()) == {0}


@pytest.mark.parametrize(("mutate", "where", "problem"), CASES[:4])
def test_error_after_valid_updates_leaves_existing_rows_alone(
    example_doc, write, mutate, where, problem
) -> None:
    run_apply(EXAMPLE)
    before = snapshot()
    example_doc["teams"][0]["name"] = "Platform Engineering"
    example_doc["engineers"][0]["time_zone"] = "Europe/Paris"
    example_doc["engineers"][0]["contact_methods"].append({"kind": "sms", "value": "+12025550155"})
    mutate(example_doc)

    with pytest.raises(CommandError, match=problem):
        run_apply(write(example_doc), "--prune")

    assert snapshot() == before


def test_ambiguous_label_must_be_written_as_kind_value(example_doc, write) -> None:
    tom = example_doc["engineers"][3]
    tom["contact_methods"][2]["label"] = "slack"  # the slack method already has it
    path = write(example_doc)
    with pytest.raises(CommandError, match=r"notification_rules\[0\]\.contact: label 'slack'"):
        run_apply(path)


def test_invalid_yaml_names_the_line(write) -> None:
    path = write("teams:\n  - slug: a\n    name: [unclosed\n")
    with pytest.raises(CommandError, match=rf"^{path}: line \d+, column \d+: invalid YAML"):
        run_apply(path)


def test_key_given_twice_is_an_error(write) -> None:
    path = write("teams:\n  - slug: a\n    name: A\n    name: B\n")
    with pytest.raises(CommandError, match=r"line 4, column 5: invalid YAML: duplicate key 'name'"):
        run_apply(path)


def test_top_level_must_be_a_mapping(write) -> None:
    with pytest.raises(CommandError, match="expected a mapping of sections"):
        run_apply(write("- teams\n"))


def test_missing_file_is_a_command_error(tmp_path) -> None:
    with pytest.raises(CommandError, match="nope.yaml: cannot read"):
        run_apply(tmp_path / "nope.yaml")


def test_prune_that_would_break_a_protected_reference_fails_cleanly(
    example_doc, write, monkeypatch
) -> None:
    run_apply(EXAMPLE)
    before = snapshot()
    del example_doc["teams"][1]
    for engineer in example_doc["engineers"]:
        engineer["teams"] = [m for m in engineer["teams"] if m["team"] != "data"]

    def protected(self, *args, **kwargs):
        raise ProtectedError("protected", {self})

    monkeypatch.setattr(Team, "delete", protected)
    with pytest.raises(CommandError, match=r"teams\[data\]: --prune cannot delete Data"):
        run_apply(write(example_doc), "--prune")
    assert snapshot() == before


def test_impossible_unquoted_date_names_the_line(write) -> None:
    path = write("time_off:\n  - engineer: lena\n    start: 2026-13-03\n")
    with pytest.raises(
        CommandError, match=r"line 3, column 12: invalid YAML: invalid date or time '2026-13-03'"
    ):
        run_apply(path)
