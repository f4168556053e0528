"""Finding a Slack member by e-mail address (``users.lookupByEmail``).

Used when someone adds a Slack contact method by e-mail: the member id found is what
gets paged, so a page needs no lookup and an address changed in Slack later does not
break it. Needs the bot scopes ``users:read`` and ``users:read.email``.
"""

from __future__ import annotations

import http.client

from slack_sdk.errors import SlackApiError, SlackClientError

from oncall.people.hooks import AddressLookupFailed
from paging.channels.slack.client import slack_client, slack_error_classify


class SlackLookupFailed(AddressLookupFailed):
    """The member could not be found; the text says why, for the person who asked."""


def slack_member_by_email(*, email: str) -> str:
    """The member id (``U…``) of the Slack user with this e-mail address.

    Raises ``SlackLookupFailed`` when nobody has the address or Slack cannot be asked
    now. Call it only when Slack is configured (``SLACK_ENABLED``).
    """
    try:
        response = slack_client().users_lookupByEmail(email=email)
        return str(response["user"]["id"])
    except SlackApiError as exc:
        error = slack_error_classify(exc, method="users.lookupByEmail")
        if getattr(error, "error", "") == "users_not_found":
            raise SlackLookupFailed(f"no Slack member has the e-mail address {email}") from None
        reason = str(error)
    except (SlackClientError, OSError, http.client.HTTPException, KeyError, TypeError) as exc:
        reason = f"slack users.lookupByEmail: {exc}"
    raise SlackLookupFailed(
        f"could not look {email} up in Slack ({reason[:200]}); try again, or give the"
        " member id (such as U012AB3CD)"
    )


def slack_address_lookup(address: str) -> str:
    """The lookup registered for Slack contact methods (``oncall.people.hooks``)."""
    return slack_member_by_email(email=address)
