"""Admin: schedules with layers and overrides inline and a 14-day preview; swaps with
accept/decline actions; holiday calendars with iCal import; feed tokens.

Every save goes through ``schedules.services`` (so layer edits write a version from
now on, and the past never changes); forms only parse.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.utils import timezone

from audit.admin_mixins import DeleteEachMixin
from oncall.models import Engineer
from schedules import feeds, services, swaps
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
    Layer,
    LayerVersion,
    Override,
    Schedule,
    SwapRequest,
    TimeOff,
)
from schedules.preview import preview_rows
from schedules.restriction_text import restriction_text, restrictions_parse
from schedules.selectors import schedule_definition

# --- schedule page: layers and overrides inline -----------------------------------


class LayerInlineForm(forms.ModelForm):
    members_text = forms.CharField(
        label="Members",
        required=False,
        help_text="usernames in rotation order, comma separated; repeats allowed",
        widget=forms.TextInput(attrs={"size": 40}),
    )
    restrictions_text = forms.CharField(
        label="Restrictions",
        required=False,
        help_text="e.g. 'Mon-Fri 09:00-17:00 business; Sat-Sun all day' (empty: always)",
        widget=forms.Textarea(attrs={"rows": 2, "cols": 40}),
    )
    retire = forms.BooleanField(
        label="Retire from now", required=False, help_text="stops the layer; past shifts stay"
    )

    class Meta:
        model = Layer
        fields = ["name", "level", "start_date", "handoff_time", "shift_length", "shift_unit"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        layer = self.instance
        if layer.pk:
            self.fields["members_text"].initial = ", ".join(
                m.engineer.user.username
                for m in layer.layer_members.select_related("engineer__user")
            )
            self.fields["restrictions_text"].initial = "; ".join(
                restriction_text(r.weekdays, r.start_time, r.end_time, r.business_hours)
                for r in layer.restrictions.all()
            )

    def clean_members_text(self) -> list[Engineer]:
        names = [n.strip() for n in self.cleaned_data["members_text"].split(",") if n.strip()]
        found = {e.user.username: e for e in Engineer.objects.filter(user__username__in=names)}
        missing = [n for n in names if n not in found]
        if missing:
            raise ValidationError(f"unknown engineer(s): {', '.join(missing)}")
        return [found[n] for n in names]

    def clean_restrictions_text(self) -> list:
        return restrictions_parse(self.cleaned_data["restrictions_text"])


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
        "retire",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Layer]:
        return super().get_queryset(request).filter(deleted_at=None)


class OverrideInline(admin.TabularInline):
    model = Override
    fk_name = "schedule"
    extra = 0
    fields = ["engineer", "replace_engineer", "start", "end", "note", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields: list[str] = []
    verbose_name_plural = "Overrides (current and future; most recently created wins)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Override]:
        return super().get_queryset(request).filter(end__gte=timezone.now() - timedelta(days=1))


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
        fields = ["team", "name", "description", "time_zone"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["holiday_calendars"] = self.instance.holiday_calendars


@admin.register(Schedule)
class ScheduleAdmin(DeleteEachMixin, admin.ModelAdmin):
    form = ScheduleAdminForm
    list_display = ["name", "team", "time_zone"]
    list_filter = ["team"]
    search_fields = ["name", "team__name"]
    inlines = [LayerInline, OverrideInline]
    actions = ["issue_feed_url", "revoke_feed_urls"]

    def save_model(self, request: HttpRequest, obj: Schedule, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            created = services.schedule_create(
                team=data["team"],
                name=data["name"],
                time_zone=data["time_zone"],
                description=data.get("description", ""),
                holiday_calendars=list(data.get("holiday_calendars") or []),
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
        )

    def delete_model(self, request: HttpRequest, obj: Schedule) -> None:
        services.schedule_delete(schedule=obj)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        schedule = form.instance
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if formset.model is Layer:
            self._save_layers(schedule, formset)
        elif formset.model is Override:
            self._save_overrides(request, schedule, formset)
        else:  # pragma: no cover - no other inlines
            formset.save()

    @staticmethod
    def _save_layers(schedule: Schedule, formset: Any) -> None:
        fields = ["name", "level", "start_date", "handoff_time", "shift_length", "shift_unit"]
        for f in formset.forms:
            if not f.has_changed() or not f.cleaned_data:
                continue
            data = f.cleaned_data
            values = {k: data[k] for k in fields if k in data}
            if f.instance.pk is None:
                layer = services.layer_create(
                    schedule=schedule,
                    members=data["members_text"],
                    restrictions=data["restrictions_text"],
                    **values,
                )
                formset.new_objects.append(layer)
                continue
            layer = Layer.objects.get(pk=f.instance.pk)
            if data.get("retire"):
                services.layer_delete(layer=layer)
                formset.deleted_objects.append(layer)
                continue
            services.layer_update(
                layer=layer,
                members=data["members_text"],
                restrictions=data["restrictions_text"],
                **values,
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

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> Any:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:
            # A service refused (e.g. an override starting in the past): say why.
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> Any:
        extra = dict(extra_context or {})
        definition = None
        schedule_id = int(object_id) if object_id.isdigit() else 0
        # Past 64 bits the id would overflow the database driver (a 500): no such schedule.
        if 0 < schedule_id <= 2**63 - 1 and Schedule.objects.filter(pk=schedule_id).exists():
            definition = schedule_definition(schedule_id)
        if definition is not None:
            extra["preview_rows"] = preview_rows(definition)
            extra["preview_hours"] = list(range(24))
            extra["preview_tz"] = definition.time_zone
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
class SwapRequestAdmin(admin.ModelAdmin):
    list_display = ["id", "schedule", "requester", "teammate", "start", "end", "status"]
    list_filter = ["status", "schedule"]
    readonly_fields = ["status", "override", "decided_by", "decided_at", "created_at"]
    actions = ["accept_swaps", "decline_swaps"]

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
class TimeOffAdmin(DeleteEachMixin, admin.ModelAdmin):
    list_display = ["engineer", "kind", "start", "end", "note"]
    list_filter = ["kind"]
    search_fields = ["engineer__display_name"]

    def save_model(self, request: HttpRequest, obj: TimeOff, form: Any, change: bool) -> None:
        data = {k: form.cleaned_data[k] for k in ("kind", "start", "end", "note")}
        if change:
            services.time_off_update(time_off=TimeOff.objects.get(pk=obj.pk), **data)
            return
        created = services.time_off_create(engineer=form.cleaned_data["engineer"], **data)
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
    fields = ["date", "name", "added_at"]
    readonly_fields = ["added_at"]
    extra = 0

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
        return super().get_queryset(request).current()

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
