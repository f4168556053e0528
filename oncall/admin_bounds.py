"""Ids a form cannot read are a form error, never a 500 (issue 12, bounded inputs).

Two places in Django query the database with whatever a staff member's browser sent for
a related object, before anything says it is not an id: the admin's autocomplete widget
(re-rendering a form that had errors, or an add page's ``?engineer=x``) and a
many-to-many field's check of its chosen ids. ``x`` raised ValueError and an id past 64
bits OverflowError (SQLite) or DataError (PostgreSQL): a 500 on every admin page with an
autocomplete or a multiple choice. Here both read only values that are ids of the
related model (``id_or_none`` for integer keys); the rest is treated as no choice (the
widget) or an invalid choice (the field's own error message).

Applied once, from ``OncallAdminConfig.ready``, to Django's classes (not each admin's),
so inlines and admins added later are covered without a mixin.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.admin.widgets import AutocompleteMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.forms.models import ModelMultipleChoiceField

from oncall.api.params import id_or_none


def _readable(model: type[models.Model], field_name: str | None, values: Iterable[Any]) -> list:
    """The values that can be ``field_name`` (the pk when None) of ``model``."""
    field = model._meta.get_field(field_name) if field_name else model._meta.pk
    if isinstance(field, models.ForeignKey):
        field = field.target_field
    if not isinstance(field, models.IntegerField):
        return list(values)
    return [v for v in values if id_or_none(v) is not None]


_optgroups = AutocompleteMixin.optgroups
_check_values = ModelMultipleChoiceField._check_values


def _bounded_optgroups(self: Any, name: str, value: list, attr: Any = None) -> Any:
    remote = self.field.remote_field
    to_field = getattr(remote, "field_name", None)
    kept = _readable(remote.model, to_field, [v for v in value if v not in ("", None)])
    return _optgroups(self, name, [str(v) for v in kept], attr)


def _bounded_check_values(self: ModelMultipleChoiceField, value: Any) -> Any:
    if isinstance(value, list | tuple | set | frozenset):
        for pk in value:
            if not _readable(self.queryset.model, self.to_field_name, [pk]):
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": str(pk)[:40]},
                )
    return _check_values(self, value)


def admin_bounds_install() -> None:
    AutocompleteMixin.optgroups = _bounded_optgroups  # type: ignore[method-assign]
    ModelMultipleChoiceField._check_values = _bounded_check_values  # type: ignore[method-assign]
