"""Admin: schedules with layers and overrides inline and a timeline; overrides (the
timeline's "add override"); swaps with accept/decline actions; holiday calendars with
iCal import; feed tokens.

Every save goes through ``schedules.services`` (so layer edits write a version from
the next handoff or a chosen moment, and the past never changes); forms only parse.
Every datetime is typed and shown in the schedule's zone (``schedules.admin_zone``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from oncall.api.params import id_or_none
from oncall.audit.admin_mixins import DeleteEachMixin
from oncall.people.models import Engineer
from schedules import feeds, services, swaps
from schedules.admin_layer import LayerInlineForm
from schedules.admin_timeline import timeline_context
from schedules.admin_zone import ZonedAdminMixin, ZonedFieldsMixin, ZonedMedia, ZoneFirstMixin
from schedules.holidays import (
    holiday_add,
    holiday_calendar_import_ical,
    holiday_calendar_import_url,
    holiday_move,
    holiday_remove,
    holiday_rename,
)
from schedules.models import (
    FeedToken,
    Holiday,
    HolidayCalendar,
    HolidayCalendarQuerySet,
    Layer,
    LayerVersion,
    Override,
    Schedule,
    SwapRequest,
    TimeOff,
)
from schedules.selectors import schedule_definition
from schedules.zoned import local_display

# --- schedule page: layers and overrides inline -----------------------------------


class LayerInline(admin.StackedInline):
    model = Layer
    form = LayerInlineForm
    extra = 0
    can_delete = False  # retire instead: deleting would rewrite the past
    fields = [
        ("name", "level"),
        ("start_date", "handoff_time", "shift_length", "shift_unit"),
        "members_text",
        "restrictions_text",
        "effective",
        "effective_at",
        "retire",
        "confirm_change",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Layer]:
        return super().get_queryset(request).filter(deleted_at=None)


class OverrideInline(ZonedFieldsMixin, admin.TabularInline):
    model = Override
    fk_name = "schedule"
    extra = 0
    fields = ["engineer", "replace_engineer", "start", "end", "note", "created"]
    readonly_fields = ["created"]
    autocomplete_fields = ()
    verbose_name_plural = "Overrides (current and future; most recently created wins)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Override]:
        return super().get_queryset(request).filter(end__gte=timezone.now() - timedelta(days=1))

    @admin.display(description="Created")
    def created(self, obj: Override) -> str:
        return local_display(obj.created_at, obj.schedule.time_zone) if obj.pk else ""


class ScheduleAdminForm(forms.ModelForm):
    # Not a model field: links are versioned rows (schedules.services.schedule_calendars_set).
    holiday_calendars = forms.ModelMultipleChoiceField(
        queryset=HolidayCalendar.objects.current(),
        required=False,
        widget=FilteredSelectMultiple("holiday calendars", is_stacked=False),
        help_text="attached from now on; the past keeps the calendars it had",
    )

    class Meta:
        model = Schedule
        fields = [
            "team",
            "name",
            "description",
            "time_zone",
            "swaps_need_approval",
            "time_off_needs_approval",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["holiday_calendars"] = self.instance.holiday_calendars


@admin.register(Schedule)
class ScheduleAdmin(DeleteEachMixin, ZonedAdminMixin, admin.ModelAdmin):
    form = ScheduleAdminForm
    list_display = ["name", "team", "time_zone"]
    list_filter = ["team"]
    search_fields = ["name", "team__name"]
    inlines = [LayerInline, OverrideInline]
    actions = ["issue_feed_url", "revoke_feed_urls"]

    class Media:
        css = {"all": ["schedules/timeline.css", "schedules/zoned.css"]}
        js = ["schedules/timeline.js"]

    def page_zone(self, request: HttpRequest, object_id: str | None) -> str | None:
        schedule_id = id_or_none(object_id)
        if schedule_id is None:
            return None
        return Schedule.objects.filter(pk=schedule_id).values_list("time_zone", flat=True).first()

    def save_model(self, request: HttpRequest, obj: Schedule, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            created = services.schedule_create(
                team=data["team"],
                name=data["name"],
                time_zone=data["time_zone"],
                description=data.get("description", ""),
                holiday_calendars=list(data.get("holiday_calendars") or []),
                swaps_need_approval=data.get("swaps_need_approval", False),
                time_off_needs_approval=data.get("time_off_needs_approval", False),
            )
            obj.pk, obj.created_at = created.pk, created.created_at
            obj._state.adding = False
            return
        original = Schedule.objects.get(pk=obj.pk)
        services.schedule_update(
            schedule=original,
            name=data["name"],
            time_zone=data["time_zone"],
            description=data.get("description", ""),
            holiday_calendars=list(data.get("holiday_calendars") or []),
            swaps_need_approval=data.get("swaps_need_approval", False),
            time_off_needs_approval=data.get("time_off_needs_approval", False),
        )

    def delete_model(self, request: HttpRequest, obj: Schedule) -> None:
        services.schedule_delete(schedule=obj)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        schedule = form.instance
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if formset.model is Layer:
            self._save_layers(request, schedule, formset)
        elif formset.model is Override:
            self._save_overrides(request, schedule, formset)
        else:  # pragma: no cover - every inline saves through the services above
            raise TypeError(f"no service saves {formset.model.__name__} rows")

    def _save_layers(self, request: HttpRequest, schedule: Schedule, formset: Any) -> None:
        fields = ["name", "level", "start_date", "handoff_time", "shift_length", "shift_unit"]
        for f in formset.forms:
            if not f.has_changed() or not f.cleaned_data:
                continue
            data = f.cleaned_data
            values = {k: data[k] for k in fields if k in data}
            if f.instance.pk is None:
                layer = services.layer_create(
                    schedule=schedule,
                    effective_from=data.get("effective_from"),
                    members=data["members_text"],
                    restrictions=data["restrictions_text"],
                    **values,
                )
                formset.new_objects.append(layer)
                continue
            layer = Layer.objects.get(pk=f.instance.pk)
            when = data.get("effective_from")
            if f.impact_message:
                self.message_user(request, f"{layer.name}: {f.impact_message}", messages.WARNING)
            if data.get("retire"):
                services.layer_delete(layer=layer, effective_from=when)
                formset.deleted_objects.append(layer)
                continue
            services.layer_update(
                layer=layer,
                effective_from=when,
                members=data["members_text"],
                restrictions=data["restrictions_text"],
                **values,
            )
            zone = schedule.time_zone
            self.message_user(
                request, f"{layer.name}: the edit takes effect at {local_display(when, zone)}."
            )
            formset.changed_objects.append((layer, f.changed_data))

    @staticmethod
    def _save_overrides(request: HttpRequest, schedule: Schedule, formset: Any) -> None:
        for f in formset.forms:
            if not f.cleaned_data:
                continue
            data = f.cleaned_data
            if f.instance.pk and data.get("DELETE"):
                services.override_delete(override=Override.objects.get(pk=f.instance.pk))
                formset.deleted_objects.append(f.instance)
                continue
            if not f.has_changed():
                continue
            values = {k: data.get(k) for k in ("engineer", "replace_engineer", "start", "end")}
            values["note"] = data.get("note", "")
            if f.instance.pk is None:
                override = services.override_create(
                    schedule=schedule, created_by=request.user, **values
                )
                formset.new_objects.append(override)
            else:
                override = services.override_update(
                    override=Override.objects.get(pk=f.instance.pk), **values
                )
                formset.changed_objects.append((override, f.changed_data))

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> Any:
        extra = dict(extra_context or {})
        schedule_id = id_or_none(object_id)
        # Past 64 bits the id would overflow the database driver (a 500): no such schedule.
        if schedule_id is not None and Schedule.objects.filter(pk=schedule_id).exists():
            definition = schedule_definition(schedule_id)
            extra.update(timeline_context(request, definition, now=timezone.now()))
        return super().change_view(request, object_id, form_url, extra)

    @admin.action(description="Issue a new secret iCal feed URL (revokes the old one)")
    def issue_feed_url(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        for schedule in queryset:
            token, _row = feeds.feed_token_rotate(schedule=schedule)
            self.message_user(
                request, f"{schedule}: {feeds.feed_url(token)} (shown once)", messages.SUCCESS
            )

    @admin.action(description="Revoke the iCal feed URLs")
    def revoke_feed_urls(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        count = sum(feeds.feed_token_revoke(schedule=s) for s in queryset)
        self.message_user(request, f"{count} feed URL(s) revoked")


def _zone_of_schedule(schedule_id: object) -> str | None:
    pk = id_or_none(schedule_id)
    if pk is None:
        return None
    return Schedule.objects.filter(pk=pk).values_list("time_zone", flat=True).first()


def _schedule_choices() -> list[tuple[int, str, str]]:
    return [
        (s.pk, str(s), s.time_zone)
        for s in Schedule.objects.select_related("team").order_by("team__name", "name")
    ]


@admin.register(Override)
class OverrideAdmin(ZoneFirstMixin, ZonedAdminMixin, admin.ModelAdmin):
    """Single overrides, in their schedule's zone: the timeline's "add override" opens
    this form prefilled with the shift clicked (``?schedule=&start=&end=``)."""

    Media = ZonedMedia

    list_display = ["engineer", "schedule", "start_local", "end_local", "replace_engineer"]
    list_select_related = ["engineer", "schedule__team", "replace_engineer"]
    list_filter = ["schedule"]
    fields = ["schedule", "engineer", "replace_engineer", "start", "end", "note"]

    def page_zone(self, request: HttpRequest, object_id: str | None) -> str | None:
        pk = id_or_none(object_id)
        if pk is not None:
            return _zone_of_schedule(
                Override.objects.filter(pk=pk).values_list("schedule_id", flat=True).first()
            )
        return _zone_of_schedule(request.GET.get("schedule"))

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial: dict[str, Any] = dict(super().get_changeform_initial_data(request))
        for name in ("start", "end"):
            value = parse_datetime(request.GET.get(name, ""))
            initial[name] = value if value is not None and value.tzinfo else None
        return initial

    zone_owner_read_only = True

    def zone_owner_choices(self) -> list[tuple[int, str, str]]:
        return _schedule_choices()

    def get_readonly_fields(self, request: HttpRequest, obj: Override | None = None) -> list[str]:
        # The zone is the schedule's: an override does not move to another schedule.
        if obj is not None:
            return ["schedule"]
        return super().get_readonly_fields(request, obj)

    def save_model(self, request: HttpRequest, obj: Override, form: Any, change: bool) -> None:
        data = form.cleaned_data
        values = {k: data.get(k) for k in ("engineer", "replace_engineer", "start", "end")}
        values["note"] = data.get("note", "")
        if change:
            services.override_update(override=Override.objects.get(pk=obj.pk), **values)
            return
        schedule = data.get("schedule") or obj.schedule
        created = services.override_create(schedule=schedule, created_by=request.user, **values)
        obj.pk, obj.schedule, obj.created_at = created.pk, schedule, created.created_at
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: Override) -> None:
        services.override_delete(override=obj)

    def response_add(
        self, request: HttpRequest, obj: Override, post_url_continue: Any = None
    ) -> HttpResponse:
        if "_addanother" in request.POST or "_continue" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        zone = obj.schedule.time_zone
        self.message_user(
            request,
            f"Override added: {obj.engineer} from {local_display(obj.start, zone)} to"
            f" {local_display(obj.end, zone)} ({zone}).",
            messages.SUCCESS,
        )
        url = reverse("admin:schedules_schedule_change", args=[obj.schedule_id])
        day = obj.start.astimezone(ZoneInfo(zone)).date().isoformat()
        return HttpResponseRedirect(f"{url}?tl_day={day}")

    def zone_of(self, obj: Override) -> str:
        return obj.schedule.time_zone


@admin.register(LayerVersion)
class LayerVersionAdmin(admin.ModelAdmin):
    """Read-only history: what each layer looked like from when."""

    list_display = ["layer", "effective_from", "active", "created_at"]
    list_filter = ["layer__schedule"]
    readonly_fields = ["layer", "effective_from", "active", "definition", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- swaps ------------------------------------------------------------------------


@admin.register(SwapRequest)
class SwapRequestAdmin(ZoneFirstMixin, ZonedAdminMixin, admin.ModelAdmin):
    """Swap requests in the schedule's zone (add: asks for the schedule first)."""

    Media = ZonedMedia

    list_display = ["id", "schedule", "requester", "teammate", "start_local", "end_local", "status"]
    list_select_related = ["schedule__team", "requester", "teammate"]
    list_filter = ["status", "schedule"]
    fields = [
        "schedule",
        "requester",
        "teammate",
        "start",
        "end",
        "note",
        "status",
        "override",
        "decided_by",
        "decided",
        "created",
    ]
    readonly_fields = ["status", "override", "decided_by", "decided", "created"]
    actions = ["accept_swaps", "decline_swaps"]

    @admin.display(description="Decided at")
    def decided(self, obj: SwapRequest) -> str:
        return local_display(obj.decided_at, self.zone_of(obj)) if obj.pk else ""

    @admin.display(description="Created at")
    def created(self, obj: SwapRequest) -> str:
        return local_display(obj.created_at, self.zone_of(obj)) if obj.pk else ""

    def page_zone(self, request: HttpRequest, object_id: str | None) -> str | None:
        pk = id_or_none(object_id)
        if pk is not None:
            return _zone_of_schedule(
                SwapRequest.objects.filter(pk=pk).values_list("schedule_id", flat=True).first()
            )
        return _zone_of_schedule(request.GET.get("schedule"))

    def zone_of(self, obj: SwapRequest) -> str:
        return obj.schedule.time_zone

    def zone_owner_choices(self) -> list[tuple[int, str, str]]:
        return _schedule_choices()

    def save_model(self, request: HttpRequest, obj: SwapRequest, form: Any, change: bool) -> None:
        if change:
            raise PermissionDenied("swap requests are decided with the actions, not edited")
        created = swaps.swap_request(
            schedule=obj.schedule,
            requester=obj.requester,
            teammate=obj.teammate,
            start=obj.start,
            end=obj.end,
            note=obj.note,
        )
        obj.pk = created.pk
        obj._state.adding = False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a decided request is the record of who took whose shifts

    def _decide(self, request: HttpRequest, queryset: QuerySet[SwapRequest], decide: Any) -> None:
        for swap in queryset.select_related("schedule", "requester", "teammate"):
            try:
                swap = decide(swap=swap, user=request.user)
            except (ValidationError, PermissionDenied) as exc:
                text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                self.message_user(request, f"swap #{swap.pk}: {text}", messages.ERROR)
            else:
                self.message_user(request, f"swap #{swap.pk}: {swap.status}", messages.SUCCESS)

    @admin.action(description="Accept the selected swap requests")
    def accept_swaps(self, request: HttpRequest, queryset: QuerySet[SwapRequest]) -> None:
        self._decide(request, queryset, swaps.swap_accept)

    @admin.action(description="Decline the selected swap requests")
    def decline_swaps(self, request: HttpRequest, queryset: QuerySet[SwapRequest]) -> None:
        self._decide(request, queryset, swaps.swap_decline)


# --- time off, holidays, feed tokens ----------------------------------------------


@admin.register(TimeOff)
class TimeOffAdmin(DeleteEachMixin, ZoneFirstMixin, ZonedAdminMixin, admin.ModelAdmin):
    """Time off belongs to an engineer, not a schedule: typed and shown in the engineer's
    zone (add: asks for the engineer first), named next to the fields."""

    zone_owner_field = "engineer"

    Media = ZonedMedia

    list_display = ["engineer", "kind", "start_local", "end_local", "note", "status"]
    list_select_related = ["engineer"]
    list_filter = ["kind", "status"]
    fields = ["engineer", "kind", "start", "end", "note", "status"]
    readonly_fields = ["status"]  # decided by a team admin on /me/team/
    search_fields = ["engineer__display_name"]

    def page_zone(self, request: HttpRequest, object_id: str | None) -> str | None:
        pk = id_or_none(object_id)
        engineer_id = (
            TimeOff.objects.filter(pk=pk).values_list("engineer_id", flat=True).first()
            if pk is not None
            else id_or_none(request.GET.get("engineer"))
        )
        if engineer_id is None:
            return None
        return Engineer.objects.filter(pk=engineer_id).values_list("time_zone", flat=True).first()

    def zone_of(self, obj: TimeOff) -> str:
        return obj.engineer.time_zone

    def zone_owner_choices(self) -> list[tuple[int, str, str]]:
        return list(
            Engineer.objects.order_by("display_name").values_list("pk", "display_name", "time_zone")
        )

    def save_model(self, request: HttpRequest, obj: TimeOff, form: Any, change: bool) -> None:
        data = {k: form.cleaned_data[k] for k in ("kind", "start", "end", "note")}
        if change:
            services.time_off_update(time_off=TimeOff.objects.get(pk=obj.pk), **data)
            return
        created = services.time_off_create(
            engineer=form.cleaned_data["engineer"], user=request.user, **data
        )
        obj.pk = created.pk
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: TimeOff) -> None:
        services.time_off_delete(time_off=obj)


class HolidayFormSet(forms.BaseInlineFormSet):
    """Deleting a holiday (or moving it to another date) takes the old date off the
    calendar from now on instead of deleting it, so the past keeps its holidays."""

    def delete_existing(self, obj: Holiday, commit: bool = True) -> None:
        if commit:
            holiday_remove(holiday=obj)

    def save_existing(self, form: forms.ModelForm, obj: Holiday, commit: bool = True) -> Holiday:
        if "date" not in form.changed_data:
            return holiday_rename(holiday=obj, name=obj.name)
        return holiday_move(holiday=obj, day=obj.date, name=obj.name)

    def save_new(self, form: forms.ModelForm, commit: bool = True) -> Holiday:
        holiday = form.instance
        return holiday_add(calendar=self.instance, day=holiday.date, name=holiday.name)


class HolidayInline(admin.TabularInline):
    model = Holiday
    formset = HolidayFormSet
    fields = ["date", "name", "added"]
    readonly_fields = ["added"]
    extra = 0

    @admin.display(description="On the calendar since")
    def added(self, obj: Holiday) -> str:
        # A calendar serves schedules in many zones: its own times are shown in UTC.
        return local_display(obj.added_at, "UTC") if obj.pk else ""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Holiday]:
        # Only the current holidays; removed ones stay in the database for the past.
        return super().get_queryset(request).filter(removed_at__isnull=True)


class HolidayCalendarForm(forms.ModelForm):
    import_file = forms.FileField(required=False, help_text="an iCal (.ics) file to import")
    import_url = forms.URLField(
        required=False, assume_scheme="https", help_text="or an iCal URL to fetch and import"
    )

    class Meta:
        model = HolidayCalendar
        fields = ["name", "description"]

    def clean_name(self) -> str:
        # The rule holiday_calendar_save enforces, shown on the field instead of a 500.
        name = self.cleaned_data["name"]
        clash = HolidayCalendar.objects.current().filter(name=name).exclude(pk=self.instance.pk)
        if clash.exists():
            raise ValidationError("a holiday calendar with this name exists")
        return name


@admin.register(HolidayCalendar)
class HolidayCalendarAdmin(admin.ModelAdmin):
    form = HolidayCalendarForm
    list_display = ["name", "source_url"]
    inlines = [HolidayInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[HolidayCalendar]:
        # Archived calendars are kept for the past only.
        return cast(HolidayCalendarQuerySet, super().get_queryset(request)).current()

    def save_model(self, request: HttpRequest, obj: HolidayCalendar, form: Any, change: bool):
        data = form.cleaned_data
        saved = services.holiday_calendar_save(
            calendar=HolidayCalendar.objects.get(pk=obj.pk) if change else None,
            name=data["name"],
            description=data.get("description", ""),
        )
        obj.pk, obj.created_at = saved.pk, saved.created_at
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: HolidayCalendar) -> None:
        services.holiday_calendar_archive(calendar=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[HolidayCalendar]) -> None:
        for calendar in queryset:
            services.holiday_calendar_archive(calendar=calendar)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        calendar = form.instance
        try:
            if form.cleaned_data.get("import_file"):
                count = holiday_calendar_import_ical(
                    calendar=calendar, data=form.cleaned_data["import_file"].read()
                )
                self.message_user(request, f"imported {count} holiday day(s)")
            if form.cleaned_data.get("import_url"):
                count = holiday_calendar_import_url(
                    calendar=calendar, url=form.cleaned_data["import_url"], replace=False
                )
                self.message_user(request, f"imported {count} holiday day(s)")
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)


@admin.register(FeedToken)
class FeedTokenAdmin(admin.ModelAdmin):
    """Tokens are shown only when issued; here they can be revoked or re-issued."""

    list_display = ["__str__", "kind", "created_at", "revoked_at", "last_used_at"]
    list_filter = ["kind", "revoked_at"]
    readonly_fields = [
        "kind",
        "schedule",
        "engineer",
        "token_hash",
        "created_at",
        "revoked_at",
        "last_used_at",
    ]
    actions = ["revoke", "reissue"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke the selected feed URLs")
    def revoke(self, request: HttpRequest, queryset: QuerySet[FeedToken]) -> None:
        count = feeds.feed_tokens_revoke(ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} feed URL(s) revoked")

    @admin.action(description="Issue a new URL for the same schedule/engineer (revokes old)")
    def reissue(self, request: HttpRequest, queryset: QuerySet[FeedToken]) -> None:
        subjects = {
            (t.schedule, t.engineer) for t in queryset.select_related("schedule", "engineer")
        }
        for schedule, engineer in subjects:
            token, _row = feeds.feed_token_rotate(schedule=schedule, engineer=engineer)
            self.message_user(
                request,
                f"{schedule or engineer}: {feeds.feed_url(token)} (shown once)",
                messages.SUCCESS,
            )
