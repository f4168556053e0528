"""Schedule admin pages in the schedule's zone: every datetime field is read and shown
in the zone the page names (``schedules.zoned``), stored in UTC."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.text import capfirst

from oncall.api.params import id_or_none
from schedules.zoned import ZonedSplitDateTimeField, local_display, zone_label, zone_or_utc


class ZonedMedia:
    css = {"all": ["schedules/zoned.css"]}


def request_zone(request: HttpRequest) -> str:
    return getattr(request, "page_zone", "UTC")


class ZonedFieldsMixin:
    """Datetime fields named in ``zoned_fields`` read and show the page's zone."""

    zoned_fields: tuple[str, ...] = ("start", "end")

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if isinstance(db_field, models.DateTimeField) and db_field.name in self.zoned_fields:
            return ZonedSplitDateTimeField(
                zone=request_zone(request),
                required=not db_field.blank,
                label=capfirst(db_field.verbose_name),
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]


class ZonedAdminMixin(ZonedFieldsMixin):
    """A change page whose times are in one zone (``page_zone``): its fields, the
    read-only times and the admin's date-time shortcuts all use it."""

    def page_zone(self, request: HttpRequest, object_id: str | None) -> str | None:
        raise NotImplementedError

    def zone_of(self, obj: Any) -> str:
        """The zone a row of the list shows its times in."""
        return "UTC"

    @admin.display(description="Start", ordering="start")
    def start_local(self, obj: Any) -> str:
        return local_display(obj.start, self.zone_of(obj))

    @admin.display(description="End", ordering="end")
    def end_local(self, obj: Any) -> str:
        return local_display(obj.end, self.zone_of(obj))

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> Any:
        zone = zone_or_utc(self.page_zone(request, object_id))
        request.page_zone = zone  # type: ignore[attr-defined]
        extra = {**(extra_context or {}), "page_zone": zone, "page_zone_label": zone_label(zone)}
        with timezone.override(ZoneInfo(zone)):
            try:
                response = super().changeform_view(  # type: ignore[misc]
                    request, object_id, form_url, extra
                )
            except ValidationError as exc:
                # A service refused (e.g. an override starting in the past): say why.
                self.message_user(request, "; ".join(exc.messages), messages.ERROR)  # type: ignore[attr-defined]
                return HttpResponseRedirect(request.get_full_path())
            # Rendered here: a TemplateResponse renders after the view, outside the zone.
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
        return response


class ZoneFirstMixin:
    """An add page whose times are read in the zone of a schedule (or an engineer) asks
    for that first: ``?<zone_owner_field>=<id>`` picks it, and the page then shows it
    fixed. Without it the times typed would be read in UTC, whatever the owner chosen."""

    zone_owner_field = "schedule"
    # Shown read-only once chosen (an override never moves to another schedule); else a
    # select offering only the chosen one (another value posted is a form error).
    zone_owner_read_only = False

    def zone_owner_choices(self) -> list[tuple[int, str, str]]:
        """(id, name, zone) of what may be picked."""
        raise NotImplementedError

    def zone_owner_id(self, request: HttpRequest) -> int | None:
        """The id picked in the query string, if it names one of the choices (read once
        per request: the add view, its form and its read-only fields all ask)."""
        if not hasattr(request, "zone_owner_id"):
            pk = id_or_none(request.GET.get(self.zone_owner_field))
            known = pk is not None and pk in {c[0] for c in self.zone_owner_choices()}
            request.zone_owner_id = pk if known else None  # type: ignore[attr-defined]
        return request.zone_owner_id  # type: ignore[attr-defined]

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None
    ) -> Any:
        if self.zone_owner_id(request) is None:
            opts = self.model._meta  # type: ignore[attr-defined]
            field = self.zone_owner_field
            return TemplateResponse(
                request,
                "admin/schedules/zone_first.html",
                {
                    **self.admin_site.each_context(request),  # type: ignore[attr-defined]
                    "opts": opts,
                    "title": f"Add {opts.verbose_name}: which {field}?",
                    "field": field,
                    "choices": [
                        (f"?{urlencode({field: pk})}", name, zone_label(zone))
                        for pk, name, zone in self.zone_owner_choices()
                    ],
                },
            )
        return super().add_view(request, form_url, extra_context)  # type: ignore[misc]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        chosen = obj is None and self.zone_owner_id(request) is not None
        if chosen and self.zone_owner_read_only and self.zone_owner_field not in fields:
            fields.append(self.zone_owner_field)
        return fields

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)  # type: ignore[misc]
        owner_id = self.zone_owner_id(request) if obj is None else None
        if owner_id is None:
            return form
        name, read_only = self.zone_owner_field, self.zone_owner_read_only

        class PrefilledForm(form):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **kw: Any) -> None:
                super().__init__(*args, **kw)
                if read_only:
                    setattr(self.instance, f"{name}_id", owner_id)
                    return
                field = self.fields[name]
                field.queryset = field.queryset.filter(pk=owner_id)
                field.empty_label = None
                field.initial = owner_id

        return PrefilledForm
