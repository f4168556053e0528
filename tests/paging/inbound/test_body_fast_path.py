"""The inbound body check looks at the text first and walks the decoded value only when
the text could hold something PostgreSQL would refuse."""

from __future__ import annotations

import json

import pytest

from paging.inbound import body
from paging.inbound.body import BodyInvalid, json_object_decode
from tests.paging.inbound.samples import alertmanager_message, am_alert

DEEP = '{"a": ' * 70 + "1" + "}" * 70


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"title": "x\\u0000y"}', "NUL"),
        ('{"title": "\\ud83d"}', "unpaired surrogates"),
        ('{"title": "\\uDFFF"}', "unpaired surrogates"),
        ('{"count": 18446744073709551616}', "64 bits"),
        ('{"value": 1e999}', "finite"),
        ('{"value": -2E+400}', "finite"),
        (DEEP, "nested"),
    ],
)
def test_what_the_database_would_refuse_is_still_found(text: str, reason: str) -> None:
    with pytest.raises(BodyInvalid, match=reason):
        json_object_decode(text.encode())


def test_a_usual_alert_message_is_not_walked(monkeypatch: pytest.MonkeyPatch) -> None:
    walked: list[object] = []
    monkeypatch.setattr(body, "_unstorable", lambda value: walked.append(value) or "")
    message = alertmanager_message([am_alert("db-1", summary="caf\u00e9 \u2603 on db-1")])
    decoded = json_object_decode(json.dumps(message).encode())
    assert decoded["alerts"][0]["annotations"]["summary"] == "caf\u00e9 \u2603 on db-1"
    assert walked == []
    # Escapes that are not suspect (an accented letter) do not force a walk either.
    json_object_decode(b'{"title": "caf\\u00e9"}')
    assert walked == []
