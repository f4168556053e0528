"""Amazon SNS messages (HTTP/S subscription) and the CloudWatch alarms they carry.

SNS posts a JSON body (``Content-Type: text/plain``) with header
``x-amz-sns-message-type``. Every message has ``Type``, ``MessageId``, ``TopicArn``,
``Message``, ``Timestamp``, ``SignatureVersion`` (``1`` = SHA1withRSA, ``2`` =
SHA256withRSA), ``Signature`` (base64) and ``SigningCertURL``;
``SubscriptionConfirmation`` and ``UnsubscribeConfirmation`` add ``Token`` and
``SubscribeURL``; a ``Notification`` may have ``Subject`` and ``UnsubscribeURL``.
Parsing here is pure: the signature is checked by ``sns_verify.py``, against
``SnsMessage.string_to_sign()``, AWS's canonical form: ``name\\nvalue\\n`` for, in
this order, Message, MessageId, Subject (if present), Timestamp, TopicArn, Type
(notifications) or Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type
(confirmations).

A CloudWatch alarm notification's ``Message`` is JSON: ``AlarmName``,
``AlarmDescription``, ``AlarmArn``, ``NewStateValue`` (``ALARM|OK|INSUFFICIENT_DATA``),
``OldStateValue``, ``NewStateReason``, ``StateChangeTime``, ``Region``, ``Trigger``…

- ``ALARM`` triggers, ``OK`` resolves; the alert's identity (and dedup key) is the
  alarm's ARN (``AlarmArn``; ``AlarmName`` when a message has no ARN), so repeated
  ALARM deliveries are one alert and the next ALARM after an OK is a new incident.
- ``INSUFFICIENT_DATA`` changes nothing: an open incident stays open (missing data is
  not a recovery) and none is opened (a new alarm starts in that state, and an
  alarm whose metric stopped would page once per evaluation gap). To page on missing
  data, set the alarm's ``TreatMissingData`` to ``breaching``: CloudWatch then goes to
  ALARM and says so.
- Severity ``critical`` (an alarm sent to an on-call integration is meant to page).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from paging.alert_event import AlertEvent
from paging.inbound.body import BodyInvalid, json_object_decode
from paging.inbound.fields import InvalidPayload, parse_timestamp, read_object, read_str

TYPES = ("SubscriptionConfirmation", "Notification", "UnsubscribeConfirmation")
CONFIRMATIONS = ("SubscriptionConfirmation", "UnsubscribeConfirmation")
SIGNATURE_VERSIONS = ("1", "2")
STATES = ("ALARM", "OK", "INSUFFICIENT_DATA")
TITLE_MAX = 1024
KEY_MAX = 255
URL_MAX = 2048


@dataclass(frozen=True)
class SnsMessage:
    type: str
    message_id: str
    topic_arn: str
    message: str
    timestamp: datetime
    signature_version: str
    signature: bytes
    signing_cert_url: str
    subject: str | None = None
    subscribe_url: str = ""
    token: str = ""
    fields: dict[str, str] = field(default_factory=dict)  # the signed fields, as sent

    def string_to_sign(self) -> bytes:
        if self.type == "Notification":
            names = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
        else:
            names = [
                "Message",
                "MessageId",
                "SubscribeURL",
                "Timestamp",
                "Token",
                "TopicArn",
                "Type",
            ]
        text = "".join(f"{name}\n{self.fields[name]}\n" for name in names if name in self.fields)
        return text.encode("utf-8")


def sns_parse(body: dict[str, Any], header_type: str = "") -> SnsMessage:
    """The SNS envelope of one request, or InvalidPayload naming each bad field."""
    errors: list[str] = []
    kind = read_str(body, "Type", "Type", errors, required=True)
    if kind and kind not in TYPES:
        errors.append(f"'Type' must be one of {', '.join(TYPES)}, not {kind[:40]!r}")
    if header_type and kind and header_type != kind:
        errors.append(
            f"'Type' is {kind[:40]!r} but the x-amz-sns-message-type header says"
            f" {header_type[:40]!r}"
        )
    required = ["MessageId", "TopicArn", "Message", "Timestamp", "SignatureVersion"]
    required += ["Signature", "SigningCertURL"]
    if kind in CONFIRMATIONS:
        required += ["Token", "SubscribeURL"]
    values = {name: read_str(body, name, name, errors, required=True) for name in required}
    subject = body.get("Subject")
    if subject is not None and not isinstance(subject, str):
        errors.append("'Subject' must be a string")
        subject = None
    for name in ("SigningCertURL", "SubscribeURL"):
        if len(values.get(name, "")) > URL_MAX:
            errors.append(f"'{name}' is longer than {URL_MAX} characters")
    version = values["SignatureVersion"]
    if version and version not in SIGNATURE_VERSIONS:
        errors.append(f"'SignatureVersion' must be '1' or '2', not {version[:8]!r}")
    signature = b""
    if values["Signature"]:
        try:
            signature = base64.b64decode(values["Signature"], validate=True)
        except (binascii.Error, ValueError):
            errors.append("'Signature' is not base64")
    timestamp = parse_timestamp(values["Timestamp"]) if values["Timestamp"] else None
    if values["Timestamp"] and timestamp is None:
        errors.append(f"'Timestamp' is not an ISO 8601 time: {values['Timestamp'][:40]!r}")
    if errors or timestamp is None:
        raise InvalidPayload(errors or ["'Timestamp' is missing or blank"])
    signed = {name: values[name] for name in values if name not in ("Signature",)}
    signed["Type"] = kind
    if subject is not None:
        signed["Subject"] = subject
    return SnsMessage(
        type=kind,
        message_id=values["MessageId"],
        topic_arn=values["TopicArn"],
        message=values["Message"],
        timestamp=timestamp,
        signature_version=version,
        signature=signature,
        signing_cert_url=values["SigningCertURL"],
        subject=subject,
        subscribe_url=values.get("SubscribeURL", ""),
        token=values.get("Token", ""),
        fields=signed,
    )


def _region_code(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 5 and parts[0] == "arn" else ""


def _console_link(alarm_arn: str, name: str) -> list[dict[str, str]]:
    region = _region_code(alarm_arn)
    if not region or not name:
        return []
    china = alarm_arn.startswith("arn:aws-cn:")
    host = "console.amazonaws.cn" if china else "console.aws.amazon.com"
    href = (
        f"https://{region}.{host}/cloudwatch/home?region={region}"
        f"#alarmsV2:alarm/{quote(name, safe='')}"
    )
    return [{"href": href, "text": "CloudWatch alarm"}]


def cloudwatch_event(message: SnsMessage) -> AlertEvent | None:
    """The AlertEvent of a CloudWatch alarm notification; None for INSUFFICIENT_DATA.

    InvalidPayload (naming ``Message.<field>``) when the message is not a CloudWatch
    alarm.
    """
    try:
        # The same checks as a request body: JSON object, storable strings and numbers.
        alarm = json_object_decode(message.message.encode("utf-8"))
    except BodyInvalid as exc:
        why = str(exc).replace("the body", "it")
        problem = f"'Message' is not a CloudWatch alarm (a JSON object): {why}"
        raise InvalidPayload([problem]) from None
    errors: list[str] = []
    name = read_str(alarm, "AlarmName", "Message.AlarmName", errors, required=True)
    state = read_str(alarm, "NewStateValue", "Message.NewStateValue", errors, required=True)
    if state and state not in STATES:
        errors.append(
            f"'Message.NewStateValue' must be one of {', '.join(STATES)}, not {state[:40]!r}"
        )
    arn = read_str(alarm, "AlarmArn", "Message.AlarmArn", errors, max_length=KEY_MAX)
    description = read_str(alarm, "AlarmDescription", "Message.AlarmDescription", errors)
    reason = read_str(alarm, "NewStateReason", "Message.NewStateReason", errors)
    region = read_str(alarm, "Region", "Message.Region", errors)
    changed = read_str(alarm, "StateChangeTime", "Message.StateChangeTime", errors)
    read_object(alarm, "Trigger", "Message.Trigger", errors)
    occurred_at = parse_timestamp(changed) if changed else None
    if changed and occurred_at is None:
        errors.append(f"'Message.StateChangeTime' is not an ISO 8601 time: {changed[:40]!r}")
    if errors:
        raise InvalidPayload(errors)
    if state == "INSUFFICIENT_DATA":
        return None
    key = (arn.strip() or f"alarm:{name.strip()}")[:KEY_MAX]
    title = name.strip()
    if description and description.strip():
        title = f"{title}: {description.strip()}"
    return AlertEvent(
        action="trigger" if state == "ALARM" else "resolve",
        alert_key=key,
        group_key=key,
        title=title[:TITLE_MAX],
        severity="critical",
        source=f"CloudWatch {region}".strip()[:255],
        details={
            "alarm": alarm,
            "reason": reason,
            "sns": {
                "topic_arn": message.topic_arn,
                "message_id": message.message_id,
                "subject": message.subject or "",
            },
        },
        links=_console_link(arn, name.strip()),
        occurred_at=occurred_at or message.timestamp,
        raw={"Type": message.type, "MessageId": message.message_id, "Message": alarm},
    )
