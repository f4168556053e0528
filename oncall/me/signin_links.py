"""One-time sign-in links by e-mail (/me/login/link/).

The token is signed (``TimestampSigner``), expires after ``SIGNIN_LINK_MAX_AGE_SECONDS``
(default 15 min) and carries the user's ``last_login`` at the time it was sent: signing
in (by this link or any other way) moves ``last_login``, so a link works once and every
older link stops working. Asking is rate limited per typed address and the answer never
says whether the address belongs to anyone.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.cache import cache
from django.core.mail import send_mail
from django.urls import reverse

from oncall.public_url import public_url

SALT = "me.signin-link"


class SigninLinkRefused(Exception):
    """Not signed by us, altered, for an inactive user, or already used."""


class SigninLinkExpired(SigninLinkRefused):
    """Genuine but older than the allowed age."""


class SigninLinkRateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("too many sign-in links asked for this address; try again later")
        self.retry_after = retry_after


def signin_link_max_age() -> int:
    return settings.SIGNIN_LINK_MAX_AGE_SECONDS


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def _last_login(user: AbstractBaseUser) -> str:
    return user.last_login.isoformat() if user.last_login else ""


def signin_link_token(*, user: AbstractBaseUser) -> str:
    return _signer().sign_object({"u": user.pk, "l": _last_login(user)})


def signin_link_read(token: str) -> AbstractBaseUser:
    """The user a genuine, unexpired, unused token signs in; raises ``SigninLinkExpired``
    or ``SigninLinkRefused``."""
    try:
        payload = _signer().unsign_object(token, max_age=signin_link_max_age())
    except signing.SignatureExpired:
        raise SigninLinkExpired("this sign-in link has expired") from None
    except (signing.BadSignature, ValueError):
        raise SigninLinkRefused("this sign-in link is not valid") from None
    if not isinstance(payload, dict):
        raise SigninLinkRefused("this sign-in link is not valid")
    user = get_user_model().objects.filter(pk=payload.get("u"), is_active=True).first()
    if user is None:
        raise SigninLinkRefused("this sign-in link is not valid")
    if _last_login(user) != payload.get("l"):
        raise SigninLinkRefused("this sign-in link was used already, or you signed in since")
    return user


def _count_ask(email: str) -> None:
    """At most ``SIGNIN_LINK_PER_ADDRESS`` asks per address per max age."""
    window = signin_link_max_age()
    key = "me:signin-link:" + hashlib.sha256(email.encode()).hexdigest()
    cache.add(key, 0, timeout=window)
    if cache.incr(key) > settings.SIGNIN_LINK_PER_ADDRESS:
        raise SigninLinkRateLimited(retry_after=window)


def signin_link_send(*, email: str) -> int:
    """Mail a sign-in link to each active user with this address (usually none or one);
    returns how many were sent (for tests: callers must not tell the asker)."""
    email = email.strip().lower()
    _count_ask(email)
    users = get_user_model().objects.filter(email__iexact=email, is_active=True)
    minutes = signin_link_max_age() // 60
    for user in users:
        url = public_url(reverse("me:signin-link-use", args=[signin_link_token(user=user)]))
        send_mail(
            subject="Your sign-in link",
            message=(
                f"Sign in to on-call as {user.get_username()}:\n\n{url}\n\n"
                f"The link works once, for {minutes} minutes. If you did not ask for it, "
                "ignore this message: nothing happens without the link."
            ),
            from_email=None,
            recipient_list=[user.email],
        )
    return len(users)
