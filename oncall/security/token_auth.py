"""API token authentication whose failures count towards the login lock-out.

A wrong ``Authorization: Token …`` is recorded by django-axes as a failed login from
the client's address (there is no username to go by), in the database, so every worker
sees it. Once the address is locked out, every token request from it answers 429 with
Retry-After, good token or not, until the lock-out expires. The wrong token is not kept.
"""

from __future__ import annotations

from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth.signals import user_login_failed
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.request import Request

from oncall.security.lockout import lockout_seconds_left

# No username and a marker: a token failure counts against the address only
# (oncall.security.lockout.lockout_parameters). The token itself is never recorded.
TOKEN_CREDENTIALS = {"username": None, "api_token": True}


class ThrottledTokenAuthentication(TokenAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() != self.keyword.lower().encode():
            return None  # not a token request: session auth or anonymous
        django_request = request._request
        if AxesProxyHandler.is_locked(django_request, credentials=TOKEN_CREDENTIALS):
            seconds = lockout_seconds_left(
                ip_address=getattr(django_request, "axes_ip_address", None), username=None
            )
            raise exceptions.Throttled(
                wait=seconds, detail="Too many failed token attempts from this address."
            )
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            user_login_failed.send(
                sender=type(self), credentials=TOKEN_CREDENTIALS, request=django_request
            )
            raise
