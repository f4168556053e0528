"""Who is acting: set once per request, command or callback, read by ``audit_record``.

The middleware keeps the request in a context variable; the actor is worked out when an
entry is written, so a DRF token authenticated inside the view counts too (DRF sets
``user`` and ``auth`` on the underlying request). Commands and tasks say who they are
with ``audit_actor(...)``; anything else is the system.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from rest_framework.authtoken.models import Token

from oncall.audit.models import AuditEntry

Kind = AuditEntry.ActorKind


@dataclass(frozen=True)
class Actor:
    kind: str
    label: str
    user_id: int | None = None


SYSTEM = Actor(Kind.SYSTEM, "system")

_explicit: contextvars.ContextVar[Actor | None] = contextvars.ContextVar(
    "audit_actor", default=None
)
_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "audit_request", default=None
)

# Unauthenticated requests that change things are provider callbacks: named by the
# package of the view that handled them.
CALLBACK_VIEWS = {
    "paging.channels.twilio": "provider callback twilio",
    "paging.channels.slack": "provider callback slack",
    "paging.channels.pagerduty": "provider callback pagerduty",
    "paging.channels.links": "signed link",
    "paging.inbound": "alert source",
}


@contextmanager
def audit_actor(kind: str, label: str, user_id: int | None = None) -> Iterator[Actor]:
    """Attribute what happens inside to this actor (commands, tasks, callbacks)."""
    actor = Actor(kind, label[:255], user_id)
    token = _explicit.set(actor)
    try:
        yield actor
    finally:
        _explicit.reset(token)


def _callback_label(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    module = getattr(getattr(match, "func", None), "__module__", "") or ""
    for prefix, label in CALLBACK_VIEWS.items():
        if module == prefix or module.startswith(prefix + "."):
            return label
    # Never the path: inbound alert URLs and signed links carry secrets.
    name = getattr(match, "url_name", None) or "unknown view"
    return f"anonymous request ({name})"


def _request_actor(request: HttpRequest) -> Actor:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return Actor(Kind.PROVIDER, _callback_label(request))
    name = user.get_username()
    if isinstance(getattr(request, "auth", None), Token):
        return Actor(Kind.TOKEN, f"{name} (API token)", user.pk)
    if request.path.startswith("/admin/"):
        where = "admin"
    elif request.path.startswith("/me/"):
        where = "engineer pages"  # me/: an engineer acting on their own things
    else:
        where = "API session"
    return Actor(Kind.USER, f"{name} ({where})", user.pk)


def current_actor() -> Actor:
    explicit = _explicit.get()
    if explicit is not None:
        return explicit
    request = _request.get()
    if request is not None:
        return _request_actor(request)
    return SYSTEM


class AuditActorMiddleware:
    """Makes the current request the source of the actor of every entry it writes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)
