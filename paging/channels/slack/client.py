"""The Slack Web API client and how its failures are classified.

The real ``slack_sdk.WebClient`` with ``base_url`` from ``SLACK_BASE_URL``, so tests
point it at a fake on 127.0.0.1. The client's own retry handlers are switched off:
the outbox retries with backoff, and a client-side retry of a post that did reach
Slack would post twice.
"""

from __future__ import annotations

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from paging.channels import TransportError

# Seconds per Slack call. The send runs while the incident row is locked (so no page
# leaves after an ack), so it must be short.
TIMEOUT_SECONDS = 5

# Errors that retrying the same request cannot fix (Slack's documented error codes).
PERMANENT_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "no_permission",
        "missing_scope",
        "team_access_not_granted",
        "users_not_found",
        "user_not_found",
        "user_disabled",
        "cannot_dm_bot",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "restricted_action",
        "invalid_blocks",
        "invalid_arguments",
        "msg_too_long",
        "no_text",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
    }
)
# Permanent errors that mean the engineer's Slack contact method itself is wrong.
CONTACT_INVALID_ERRORS = frozenset(
    {"users_not_found", "user_not_found", "user_disabled", "cannot_dm_bot"}
)
DEFAULT_RETRY_AFTER_SECONDS = 30
MAX_RETRY_AFTER_SECONDS = 3600


class SlackRateLimited(TransportError):
    """Slack said 429; ``retry_after`` is its Retry-After in seconds (the outbox waits)."""

    retry_after: int

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, permanent=False, retry_after=retry_after)


class SlackSendFailed(TransportError):
    """A Slack error with its code (``error``) kept for the caller."""

    def __init__(
        self, message: str, *, error: str, permanent: bool, disable_reason: str = ""
    ) -> None:
        super().__init__(message, permanent=permanent, disable_reason=disable_reason)
        self.error = error


def slack_base_url() -> str:
    # slack_sdk joins method names onto the base URL: it needs the trailing slash.
    return settings.SLACK_BASE_URL.rstrip("/") + "/"


def slack_client() -> WebClient:
    return WebClient(
        token=settings.SLACK_BOT_TOKEN,
        base_url=slack_base_url(),
        timeout=TIMEOUT_SECONDS,
        retry_handlers=[],
    )


def _retry_after(headers: dict[str, str]) -> int:
    lowered = {str(k).lower(): v for k, v in (headers or {}).items()}
    raw = lowered.get("retry-after", "")
    try:
        seconds = int(str(raw).strip())
    except ValueError:
        return DEFAULT_RETRY_AFTER_SECONDS
    return max(1, min(seconds, MAX_RETRY_AFTER_SECONDS))


def slack_error_classify(exc: SlackApiError, *, method: str) -> TransportError:
    """The TransportError for a failed Slack call: 429, permanent codes, or transient."""
    response = exc.response
    status = getattr(response, "status_code", 0) or 0
    data = getattr(response, "data", None)
    error = data.get("error", "") if isinstance(data, dict) else ""
    if status == 429 or error == "ratelimited":
        seconds = _retry_after(getattr(response, "headers", {}) or {})
        return SlackRateLimited(
            f"slack {method}: rate limited, retry after {seconds} s", retry_after=seconds
        )
    error = str(error or "")[:200]
    if status >= 500 or not error:
        # Slack is down or answered something else than its API: try again later.
        text = f"slack {method}: HTTP {status} {error}".strip()
        return SlackSendFailed(text, error=error, permanent=False)
    return SlackSendFailed(
        f"slack {method}: {error}", error=error, permanent=error in PERMANENT_ERRORS
    )
