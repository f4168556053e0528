"""Slack's inbound endpoints: ``POST /slack/interactions/`` and ``POST /slack/commands/``.

Both verify the signature first (403 and nothing changes otherwise), parse, call one
function of ``paging.channels.slack.actions`` and answer at once (Slack waits 3 s): the ack
itself is synchronous (one transaction); the message updates go through the outbox.
Malformed input is a 400 naming what is wrong, never a 500.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import parse_qs

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from paging.channels.slack.actions import (
    link_account_text,
    oncall_command,
    slack_engineer,
    slack_ephemeral_reply,
    slack_incident_act,
)
from paging.channels.slack.blocks import ACTIONS
from paging.channels.slack.verify import SlackRequestRefused, slack_request_verify
from paging.inbound.body import BodyInvalid, BodyTooLarge, body_read, json_object_decode

logger = logging.getLogger(__name__)

SLACK_ID = re.compile(r"^[A-Z0-9]{2,32}$")
MAX_FORM_FIELDS = 50
MAX_TEXT = 2000


class BadRequest(Exception):
    def __init__(self, field: str, reason: str, status: int = 400) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.status = status


def _error(status: int, field: str, reason: str) -> JsonResponse:
    return JsonResponse({"error": reason, "field": field}, status=status)


def _verified_form(request: HttpRequest) -> tuple[dict[str, str], str]:
    """The form fields of a verified Slack request, and its signature."""
    try:
        body = body_read(request)
    except BodyTooLarge as exc:
        raise BadRequest("body", str(exc), status=413) from None
    except BodyInvalid as exc:
        raise BadRequest("body", str(exc)) from None
    signature = request.headers.get("X-Slack-Signature", "")
    try:
        slack_request_verify(
            body=body,
            timestamp=request.headers.get("X-Slack-Request-Timestamp", ""),
            signature=signature,
        )
    except SlackRequestRefused as exc:
        logger.warning("slack request refused: %s", exc)
        raise BadRequest("signature", "request not verified as coming from Slack", 403) from None
    try:
        text = body.decode("utf-8")
        fields = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("body", "not a UTF-8 form (application/x-www-form-urlencoded)") from None
    form = {name: values[0] for name, values in fields.items()}
    if any("\x00" in value for value in form.values()):
        raise BadRequest("body", "form values must not contain NUL characters")
    return form, signature


def _slack_id(value: Any, field: str) -> str:
    if not isinstance(value, str) or not SLACK_ID.match(value):
        raise BadRequest(field, "missing or not a Slack id")
    return value


def _interaction(payload: dict[str, Any]) -> tuple[str, str, int, str]:
    """(user id, action id, incident id, channel id) of a block_actions payload."""
    user = payload.get("user")
    user_id = _slack_id(user.get("id") if isinstance(user, dict) else None, "payload.user.id")
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        raise BadRequest("payload.actions", "must be a non-empty list of objects")
    action = actions[0]
    action_id = action.get("action_id")
    if not isinstance(action_id, str):
        raise BadRequest("payload.actions[0].action_id", "missing")
    value = action.get("value")
    if action_id in ACTIONS and not (
        isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12
    ):
        raise BadRequest("payload.actions[0].value", "must be an incident id")
    channel = payload.get("channel")
    container = payload.get("container")
    channel_id = (channel.get("id") if isinstance(channel, dict) else None) or (
        container.get("channel_id") if isinstance(container, dict) else None
    )
    channel_id = channel_id if isinstance(channel_id, str) and SLACK_ID.match(channel_id) else ""
    incident_id = int(value) if action_id in ACTIONS and isinstance(value, str) else 0
    return user_id, action_id, incident_id, channel_id


@csrf_exempt
@require_POST
def slack_interactions(request: HttpRequest) -> HttpResponse:
    try:
        form, signature = _verified_form(request)
        raw = form.get("payload")
        if raw is None:
            raise BadRequest("payload", "missing")
        try:
            payload = json_object_decode(raw.encode("utf-8"))
        except BodyInvalid as exc:
            raise BadRequest("payload", str(exc)) from None
        if payload.get("type") != "block_actions":
            return HttpResponse(status=200)  # other interaction types: nothing to do
        user_id, action_id, incident_id, channel_id = _interaction(payload)
    except BadRequest as exc:
        return _error(exc.status, exc.field, exc.reason)
    if action_id not in ACTIONS:
        return HttpResponse(status=200)
    engineer = slack_engineer(slack_user_id=user_id)
    if engineer is None:
        text = link_account_text(user_id)
    else:
        text = slack_incident_act(action=action_id, incident_id=incident_id, engineer=engineer).text
    if channel_id:
        slack_ephemeral_reply(channel=channel_id, user=user_id, text=text, key=signature)
    return HttpResponse(status=200)


@csrf_exempt
@require_POST
def slack_commands(request: HttpRequest) -> HttpResponse:
    try:
        form, _ = _verified_form(request)
        user_id = _slack_id(form.get("user_id"), "user_id")
        text = form.get("text", "")
        if len(text) > MAX_TEXT:
            raise BadRequest("text", f"longer than {MAX_TEXT} characters")
    except BadRequest as exc:
        return _error(exc.status, exc.field, exc.reason)
    channel_id = str(form.get("channel_id", ""))[:64]
    reply = oncall_command(text=text, slack_user_id=user_id, channel_id=channel_id)
    return JsonResponse({"response_type": "ephemeral", "text": reply.text})
