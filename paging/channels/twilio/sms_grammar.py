"""The grammar of SMS replies (pure parsing, no database).

A reply names an action and, optionally, an incident's reply code (the number shown
in the text we sent). Case, surrounding spaces and a trailing ``.``/``!`` are ignored::

    reply   := action | code action | action code        (spaces optional between)
    action  := "a" | "ack" | "acknowledge"                -> acknowledge
             | "r" | "res" | "resolve"                    -> resolve
             | "e" | "esc" | "escalate"                   -> escalate
    code    := 1 to 4 digits

Examples: ``ACK``, ``1a``, ``1 a``, ``a 1``, ``ack 1``, ``1ack``, ``1r``, ``resolve 1``,
``1e``, ``escalate 1``. A bare action (``ACK``) applies to the one open incident paged
to the phone, and is refused with the list of codes when there are several.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ACTION_WORDS = {
    "a": "acknowledge",
    "ack": "acknowledge",
    "acknowledge": "acknowledge",
    "r": "resolve",
    "res": "resolve",
    "resolve": "resolve",
    "e": "escalate",
    "esc": "escalate",
    "escalate": "escalate",
}

_REPLY = re.compile(
    r"^(?:(?P<code1>\d{1,4})\s*(?P<word1>[a-z]+)"
    r"|(?P<word2>[a-z]+)\s*(?P<code2>\d{1,4})"
    r"|(?P<word3>[a-z]+))$"
)


@dataclass(frozen=True)
class SmsCommand:
    action: str  # acknowledge | resolve | escalate
    code: int | None  # None: the one open incident


def sms_parse(body: str) -> SmsCommand | None:
    """The command in ``body``, or None when it is not one."""
    text = " ".join((body or "").lower().split()).rstrip(".!")
    if len(text) > 40:
        return None
    match = _REPLY.match(text.strip())
    if match is None:
        return None
    word = match["word1"] or match["word2"] or match["word3"]
    action = ACTION_WORDS.get(word)
    if action is None:
        return None
    code = match["code1"] or match["code2"]
    return SmsCommand(action=action, code=int(code) if code else None)
