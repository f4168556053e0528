"""The admin site: a home page a team lead runs on-call from, and internals kept aside.

The index shows, per schedule, who is on call now and next, the open incidents by
service and the coverage gaps of the next 14 days (read by selectors; nothing is
computed here). Engine state, celery-beat tables, verification codes, layer versions
and delivery logs are grouped under "System" and are read-only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import Model
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone

from oncall.admin_read_only import ReadOnlyMixin
from oncall.api.params import id_or_none

PRODUCT = "oncall"

# Internals: written by the engine, the dispatcher, the bridges or deploy-time commands.
SYSTEM_MODELS = frozenset(
    {
        "paging.EngineHeartbeat",
        "paging.EngineStep",
        "paging.Message",
        "oncall.VerificationCode",
        "schedules.LayerVersion",
        "bridges.SlackPost",
        "bridges.PagerDutyForward",
        "bridges.PagerDutyWebhookDelivery",
        "django_celery_beat.PeriodicTask",
        "django_celery_beat.IntervalSchedule",
        "django_celery_beat.CrontabSchedule",
        "django_celery_beat.SolarSchedule",
        "django_celery_beat.ClockedSchedule",
    }
)
SYSTEM_LABEL = "system"


def _initial_value(field: models.Field, value: Any) -> Any:
    """``value`` (a query-string string, a list for many-to-many) as the field reads it;
    ValueError when it cannot."""
    if field.many_to_many or field.many_to_one or field.one_to_one:
        values = value if isinstance(value, list) else [value]
        target = field.target_field  # type: ignore[attr-defined]
        if isinstance(target, models.IntegerField) and any(id_or_none(v) is None for v in values):
            raise ValueError("not an id")
        return value
    try:
        return field.to_python(value)
    except (ValidationError, TypeError, OverflowError) as exc:
        raise ValueError(str(exc)) from None


def admin_initial_clean(model: type[Model], initial: dict[str, Any]) -> dict[str, Any]:
    """An add page's initial values from its query string (``?engineer=3&start=…``),
    keeping only those the field can read, as the field reads them: Django's widgets
    raise on ``?engineer=x`` (an autocomplete's query), ``?engineer=10**20`` or
    ``?start=x`` (a split date-time), which was a 500 for bad input."""
    kept: dict[str, Any] = {}
    for name, value in initial.items():
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            kept[name] = value  # not a model field: the admin's own form reads it
            continue
        if not isinstance(field, models.Field):
            continue  # a reverse relation: never an initial value of the form
        try:
            kept[name] = _initial_value(field, value)
        except ValueError:
            continue
    return kept


class OncallAdminSite(admin.AdminSite):
    site_header = f"{PRODUCT} — on-call schedules and paging"
    site_title = PRODUCT
    index_title = "On call now"
    index_template = "admin/oncall_home.html"

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        super().register(model_or_iterable, admin_class, **options)
        models_ = (
            model_or_iterable
            if isinstance(model_or_iterable, list | tuple)
            else [model_or_iterable]
        )
        for model in models_:
            model_admin = self._registry[model]
            read = model_admin.get_changeform_initial_data

            def guarded(request: HttpRequest, *, _read: Any = read, _model: Any = model) -> dict:
                return admin_initial_clean(_model, _read(request))

            # Every ModelAdmin of every app, without each having to use a mixin.
            model_admin.get_changeform_initial_data = guarded  # type: ignore[method-assign]

    def system_read_only(self) -> None:
        """Re-register the system models' admins as read-only subclasses (after
        autodiscovery, so every app's own admin class is kept, only narrowed)."""
        for model, model_admin in list(self._registry.items()):
            if model._meta.label not in SYSTEM_MODELS or isinstance(model_admin, ReadOnlyMixin):
                continue
            cls = type(model_admin)
            # No actions either (celery-beat's enable/disable/run tasks write).
            narrowed = type(f"ReadOnly{cls.__name__}", (ReadOnlyMixin, cls), {"actions": None})
            self.unregister(model)
            self.register(model, narrowed)

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        apps = super().get_app_list(request, app_label)
        if app_label is not None:
            return apps
        system: list[dict] = []
        kept = []
        for app in apps:
            own = []
            for entry in app["models"]:
                model: type[Model] = entry["model"]
                if model._meta.label in SYSTEM_MODELS:
                    system.append({**entry, "name": f"{entry['name']} ({app['name']})"})
                else:
                    own.append(entry)
            if own:
                kept.append({**app, "models": own})
        if system:
            system.sort(key=lambda e: e["name"])
            kept.append(
                {
                    "name": "System (read-only)",
                    "app_label": SYSTEM_LABEL,
                    "app_url": "#system",
                    "has_module_perms": True,
                    "models": system,
                }
            )
        return kept

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        from paging.selectors import open_incidents_by_service
        from schedules.coverage import HORIZON, schedules_coverage

        user = request.user
        # Each panel for those who may see what it summarises.
        may_see_schedules = user.has_perm("schedules.view_schedule") or user.has_perm(
            "schedules.change_schedule"
        )
        may_see_incidents = user.has_perm("paging.view_incident") or user.has_perm(
            "paging.change_incident"
        )
        home = {
            "show_coverage": may_see_schedules,
            "coverage": schedules_coverage(now=timezone.now()) if may_see_schedules else [],
            "horizon_days": HORIZON.days,
            "show_incidents": may_see_incidents,
            "open_by_service": open_incidents_by_service() if may_see_incidents else [],
        }
        return super().index(request, {**home, **(extra_context or {})})
