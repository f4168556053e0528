"""Who may do what in the people-directory API.

- Staff (``is_staff``) manage everything.
- An engineer reads teams, memberships and engineers, may edit their own engineer
  record (not ``is_staff``/``is_active``), and manages only their own contact methods
  and notification rules. Other engineers' contact methods and rules are invisible to
  them: the list leaves them out and a direct URL answers **404** (never 403), so ids
  reveal nothing. Creating one *for* another engineer answers 403.
- Anonymous requests answer 401 with ``WWW-Authenticate: Token``.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request


class IsStaffOrReadOnly(BasePermission):
    message = "Only staff can change this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(
            request.user
            and request.user.is_authenticated
            and (request.method in SAFE_METHODS or request.user.is_staff)
        )


class EngineerPermission(BasePermission):
    """Read for everyone signed in; create for staff; update for staff or oneself."""

    message = "Only staff, or the engineer themself, can change an engineer."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in SAFE_METHODS or request.user.is_staff:
            return True
        return request.method in ("PUT", "PATCH")

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        if request.method in SAFE_METHODS or request.user.is_staff:
            return True
        return obj.user_id == request.user.pk
