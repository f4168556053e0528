"""A shared base for admin classes that only show: the audit trail, the incident list,
the system models (``oncall.admin_site``). Below every app, so any app's admin can use
it without importing the project's admin site."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


class ReadOnlyMixin:
    """Viewing only: no add, no change, no delete (and so no Add buttons)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
