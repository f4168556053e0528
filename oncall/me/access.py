"""Who may use /me/: a signed-in user with an engineer profile (their own things only)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from oncall.people.selectors import engineer_for_user


def engineer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Sign-in first; a user without an engineer profile gets a page saying so (403),
    with the admin's address for staff, never an error page."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        engineer = engineer_for_user(request.user)
        if engineer is None:
            return render(request, "me/not_engineer.html", status=403)
        return view(request, engineer, *args, **kwargs)

    return wrapper
