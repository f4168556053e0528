"""Schedules API: parse input, check permission, call a service or selector, render.

Permissions: everyone signed in reads. Staff or an admin of the schedule's team
writes schedules, layers, restrictions and overrides. Engineers create their own
time off and swap requests (staff and team admins may do it for their team's
engineers); the teammate asked, a team admin or staff accepts or declines a swap.
Holiday calendars are written by staff.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from oncall.api.errors import ServiceErrorsMixin
from oncall.api.params import instant_param, int_param
from oncall.people.models import Engineer
from oncall.people.selectors import admin_team_ids, engineer_for_user, is_team_admin
from schedules import feeds, services, swaps
from schedules.api.serializers import (
    HolidayCalendarSerializer,
    HolidayImportSerializer,
    LayerSerializer,
    OverrideSerializer,
    RestrictionSerializer,
    ScheduleSerializer,
    SwapSerializer,
    TimeOffSerializer,
    iso,
    shift_data,
)
from schedules.fairness import fairness_report
from schedules.holidays import holiday_calendar_import_ical, holiday_calendar_import_url
from schedules.models import (
    Holiday,
    HolidayCalendar,
    Layer,
    Override,
    Restriction,
    Schedule,
    SwapRequest,
    TimeOff,
)
from schedules.resolver import resolve
from schedules.selectors import engineer_shifts, schedule_definition, schedule_definitions
from schedules.services import RestrictionSpec

MAX_RANGE = timedelta(days=400)


# --- helpers ----------------------------------------------------------------------


def range_params(request: Request) -> tuple[datetime, datetime]:
    now = timezone.now()
    start = instant_param(request, "start", now)
    end = instant_param(request, "end", start + timedelta(days=7))
    if end <= start:
        raise exceptions.ValidationError({"end": ["must be after start"]})
    if end - start > MAX_RANGE:
        raise exceptions.ValidationError({"end": [f"range is limited to {MAX_RANGE.days} days"]})
    return start, end


def require_team_admin(user: Any, team_id: int) -> None:
    if not is_team_admin(user, team_id=team_id):
        raise exceptions.PermissionDenied("only staff or an admin of the schedule's team")


def oncall_payload(schedule: Schedule, at: datetime, definition: Any = None) -> dict:
    """Who is on call at ``at``, since and until when (within 35 days each side)."""
    definition = definition or schedule_definition(schedule.id)
    horizon = timedelta(days=35)
    shifts = resolve(definition, at - horizon, at + horizon)
    # Holiday flags split shifts; "since/until" is about the person, so join them back.
    current = [s for s in shifts if s.start <= at < s.end]
    data: dict[str, Any] = {
        "schedule": schedule.id,
        "schedule_name": schedule.name,
        "at": iso(at),
        "oncall": [],
        "gap": not current,
    }
    if current:
        shift = current[0]
        since, until = shift.start, shift.end
        for s in reversed([s for s in shifts if s.end <= since]):
            if s.end == since and s.engineer_id == shift.engineer_id and s.source == shift.source:
                since = s.start
            else:
                break
        for s in [s for s in shifts if s.start >= until]:
            if s.start == until and s.engineer_id == shift.engineer_id and s.source == shift.source:
                until = s.end
            else:
                break
        entry = shift_data(shift, definition.names)
        entry.update(since=iso(since), until=iso(until))
        data["oncall"] = [entry]
    else:
        before = [s.end for s in shifts if s.end <= at]
        after = [s.start for s in shifts if s.start > at]
        data["gap_since"] = iso(max(before)) if before else None
        data["gap_until"] = iso(min(after)) if after else None
    return data


def shifts_payload(schedule_id: int, start: datetime, end: datetime) -> dict:
    definition = schedule_definition(schedule_id)
    shifts = resolve(definition, start, end)
    gaps = []
    cursor = start
    for s in shifts:
        if s.start > cursor:
            gaps.append({"start": iso(cursor), "end": iso(s.start)})
        cursor = s.end
    if cursor < end:
        gaps.append({"start": iso(cursor), "end": iso(end)})
    return {
        "schedule": schedule_id,
        "start": iso(start),
        "end": iso(end),
        "shifts": [shift_data(s, definition.names) for s in shifts],
        "gaps": gaps,
    }


def feed_token_response(token: str) -> Response:
    return Response(
        {"token": token, "url": feeds.feed_url(token), "note": "shown once; store it now"},
        status=status.HTTP_201_CREATED,
    )


AT = OpenApiParameter("at", OpenApiTypes.DATETIME, description="instant (default now)")
START = OpenApiParameter("start", OpenApiTypes.DATETIME, description="default now")
END = OpenApiParameter("end", OpenApiTypes.DATETIME, description="default start + 7 days")


# --- schedules --------------------------------------------------------------------


class ScheduleViewSet(ServiceErrorsMixin, viewsets.ModelViewSet):
    serializer_class = ScheduleSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self) -> QuerySet[Schedule]:
        qs = Schedule.objects.select_related("team").prefetch_related("calendar_links__calendar")
        if (team := int_param(self.request, "team")) is not None:
            qs = qs.filter(team_id=team)
        return qs.order_by("pk")

    def perform_create(self, serializer: BaseSerializer[Schedule]) -> None:
        data = dict(serializer.validated_data)
        data.pop("effective_from", None)
        require_team_admin(self.request.user, data["team"].pk)
        serializer.instance = services.schedule_create(**data)

    def perform_update(self, serializer: BaseSerializer[Schedule]) -> None:
        schedule = serializer.instance
        assert schedule is not None  # an update has its instance
        require_team_admin(self.request.user, schedule.team_id)
        data = dict(serializer.validated_data)
        if "team" in data and data.pop("team") != schedule.team:
            raise exceptions.ValidationError({"team": ["cannot be changed"]})
        serializer.instance = services.schedule_update(schedule=schedule, **data)

    def perform_destroy(self, instance: Schedule) -> None:
        require_team_admin(self.request.user, instance.team_id)
        services.schedule_delete(schedule=instance)

    @extend_schema(parameters=[AT], responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def oncall(self, request: Request, pk: str | None = None) -> Response:
        """Who is on call at ``at`` (default now), since and until when; or the gap."""
        at = instant_param(request, "at", timezone.now())
        return Response(oncall_payload(self.get_object(), at))

    @extend_schema(parameters=[START, END], responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def shifts(self, request: Request, pk: str | None = None) -> Response:
        """Final shifts over [start, end) and the gaps where nobody is on call."""
        start, end = range_params(request)
        return Response(shifts_payload(self.get_object().pk, start, end))

    @extend_schema(parameters=[START, END], responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def fairness(self, request: Request, pk: str | None = None) -> Response:
        """Per engineer: hours on call, off-hours, weekend and holiday hours."""
        start, end = range_params(request)
        schedule = self.get_object()
        definition = schedule_definition(schedule.pk)
        rows = fairness_report(definition, start, end)
        return Response({"schedule": schedule.pk, "start": start, "end": end, "engineers": rows})

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post", "delete"], url_path="feed-token")
    def feed_token(self, request: Request, pk: str | None = None) -> Response:
        """POST: issue a new secret feed URL (revoking the old one). DELETE: revoke."""
        schedule = self.get_object()
        require_team_admin(request.user, schedule.team_id)
        if request.method == "DELETE":
            feeds.feed_token_revoke(schedule=schedule)
            return Response(status=status.HTTP_204_NO_CONTENT)
        token, _row = feeds.feed_token_rotate(schedule=schedule)
        return feed_token_response(token)


# --- layers and restrictions ------------------------------------------------------


def _specs(rows: list[dict]) -> list[RestrictionSpec]:
    return [RestrictionSpec(**row) for row in rows]


class LayerViewSet(ServiceErrorsMixin, viewsets.ModelViewSet):
    """Layers (rotations). Edits and deletes take effect from ``effective_from``
    (default now); past shifts never change. A deleted layer stays listed with
    ``deleted_at`` when ``?include_deleted=1``."""

    serializer_class = LayerSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self) -> QuerySet[Layer]:
        qs = Layer.objects.select_related("schedule").prefetch_related(
            "layer_members", "restrictions"
        )
        if self.request.query_params.get("include_deleted") not in ("1", "true"):
            qs = qs.filter(deleted_at=None)
        if (schedule := int_param(self.request, "schedule")) is not None:
            qs = qs.filter(schedule_id=schedule)
        return qs.order_by("schedule_id", "-level", "pk")

    def perform_create(self, serializer: BaseSerializer[Layer]) -> None:
        data = dict(serializer.validated_data)
        require_team_admin(self.request.user, data["schedule"].team_id)
        data["restrictions"] = _specs(data.get("restrictions", []))
        serializer.instance = services.layer_create(**data)

    def perform_update(self, serializer: BaseSerializer[Layer]) -> None:
        layer = serializer.instance
        assert layer is not None  # an update has its instance
        require_team_admin(self.request.user, layer.schedule.team_id)
        data = dict(serializer.validated_data)
        if "schedule" in data and data.pop("schedule") != layer.schedule:
            raise exceptions.ValidationError({"schedule": ["cannot be changed"]})
        if "restrictions" in data:
            data["restrictions"] = _specs(data["restrictions"])
        serializer.instance = services.layer_update(layer=layer, **data)

    def perform_destroy(self, instance: Layer) -> None:
        require_team_admin(self.request.user, instance.schedule.team_id)
        services.layer_delete(
            layer=instance,
            effective_from=services.effective_from_clamp(
                instant_param(self.request, "effective_from", timezone.now())
            ),
        )


class RestrictionViewSet(ServiceErrorsMixin, viewsets.ModelViewSet):
    serializer_class = RestrictionSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self) -> QuerySet[Restriction]:
        qs = Restriction.objects.select_related("layer__schedule").filter(layer__deleted_at=None)
        if (layer := int_param(self.request, "layer")) is not None:
            qs = qs.filter(layer_id=layer)
        return qs.order_by("pk")

    @staticmethod
    def _spec(data: dict, current: Restriction | None = None) -> RestrictionSpec:
        def pick(key: str) -> Any:
            return data[key] if key in data else getattr(current, key)

        return RestrictionSpec(
            weekdays=pick("weekdays"),
            start_time=pick("start_time"),
            end_time=pick("end_time"),
            business_hours=pick("business_hours"),
        )

    def perform_create(self, serializer: BaseSerializer[Restriction]) -> None:
        data = serializer.validated_data
        layer = data["layer"]
        require_team_admin(self.request.user, layer.schedule.team_id)
        serializer.instance = services.restriction_add(
            layer=layer,
            spec=self._spec({"business_hours": False, **data}),
            effective_from=data.get("effective_from"),
        )

    def perform_update(self, serializer: BaseSerializer[Restriction]) -> None:
        restriction = serializer.instance
        assert restriction is not None  # an update has its instance
        require_team_admin(self.request.user, restriction.layer.schedule.team_id)
        data = serializer.validated_data
        if "layer" in data and data["layer"] != restriction.layer:
            raise exceptions.ValidationError({"layer": ["cannot be changed"]})
        serializer.instance = services.restriction_update(
            restriction=restriction,
            spec=self._spec(data, restriction),
            effective_from=data.get("effective_from"),
        )

    def perform_destroy(self, instance: Restriction) -> None:
        require_team_admin(self.request.user, instance.layer.schedule.team_id)
        services.restriction_delete(restriction=instance)


# --- overrides, time off, swaps ---------------------------------------------------


class OverrideViewSet(ServiceErrorsMixin, viewsets.ModelViewSet):
    """Overrides. Changing one that already started is refused; deleting one that
    already started ends it now."""

    serializer_class = OverrideSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self) -> QuerySet[Override]:
        qs = Override.objects.select_related("schedule")
        if (schedule := int_param(self.request, "schedule")) is not None:
            qs = qs.filter(schedule_id=schedule)
        return qs.order_by("pk")

    def perform_create(self, serializer: BaseSerializer[Override]) -> None:
        data = serializer.validated_data
        require_team_admin(self.request.user, data["schedule"].team_id)
        serializer.instance = services.override_create(created_by=self.request.user, **data)

    def perform_update(self, serializer: BaseSerializer[Override]) -> None:
        override = serializer.instance
        assert override is not None  # an update has its instance
        require_team_admin(self.request.user, override.schedule.team_id)
        data = serializer.validated_data
        if "schedule" in data and data.pop("schedule") != override.schedule:
            raise exceptions.ValidationError({"schedule": ["cannot be changed"]})
        serializer.instance = services.override_update(override=override, **data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        override = self.get_object()
        require_team_admin(request.user, override.schedule.team_id)
        remaining = services.override_delete(override=override)
        if remaining is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(OverrideSerializer(remaining).data)


class TimeOffViewSet(ServiceErrorsMixin, viewsets.ModelViewSet):
    """Time off. Engineers manage their own; staff and team admins their teams'."""

    serializer_class = TimeOffSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self) -> QuerySet[TimeOff]:
        qs = TimeOff.objects.all()
        if (engineer := int_param(self.request, "engineer")) is not None:
            qs = qs.filter(engineer_id=engineer)
        return qs.order_by("pk")

    def _check(self, engineer: Engineer) -> None:
        user = self.request.user
        own = engineer_for_user(user)
        if user.is_staff or (own is not None and own.pk == engineer.pk):
            return
        admin_of = admin_team_ids(user_id=user.pk)
        if own is not None and engineer.memberships.filter(team_id__in=admin_of).exists():
            return
        raise exceptions.PermissionDenied("only the engineer, a team admin of theirs, or staff")

    def perform_create(self, serializer: BaseSerializer[TimeOff]) -> None:
        data = dict(serializer.validated_data)
        engineer = data.pop("engineer", None) or engineer_for_user(self.request.user)
        if engineer is None:
            raise exceptions.ValidationError({"engineer": ["is required (you have no profile)"]})
        self._check(engineer)
        serializer.instance = services.time_off_create(
            engineer=engineer, user=self.request.user, **data
        )

    def perform_update(self, serializer: BaseSerializer[TimeOff]) -> None:
        time_off = serializer.instance
        assert time_off is not None  # an update has its instance
        self._check(time_off.engineer)
        data = dict(serializer.validated_data)
        if "engineer" in data and data.pop("engineer") != time_off.engineer:
            raise exceptions.ValidationError({"engineer": ["cannot be changed"]})
        serializer.instance = services.time_off_update(time_off=time_off, **data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        time_off = self.get_object()
        self._check(time_off.engineer)
        remaining = services.time_off_delete(time_off=time_off)
        if remaining is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(TimeOffSerializer(remaining).data)


class SwapViewSet(ServiceErrorsMixin, viewsets.ModelViewSet):
    """Swap requests: the requester asks a teammate; accept/decline/cancel actions."""

    serializer_class = SwapSerializer
    permission_classes = [IsAuthenticated]
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> QuerySet[SwapRequest]:
        qs = SwapRequest.objects.select_related("schedule", "override")
        if (schedule := int_param(self.request, "schedule")) is not None:
            qs = qs.filter(schedule_id=schedule)
        if status_ := self.request.query_params.get("status"):
            qs = qs.filter(status=status_)
        return qs.order_by("pk")

    def perform_create(self, serializer: BaseSerializer[SwapRequest]) -> None:
        data = dict(serializer.validated_data)
        user = self.request.user
        requester = data.pop("requester", None) or engineer_for_user(user)
        if requester is None:
            raise exceptions.ValidationError({"requester": ["is required (you have no profile)"]})
        own = engineer_for_user(user)
        if not (
            (own is not None and own.pk == requester.pk)
            or is_team_admin(user, team_id=data["schedule"].team_id)
        ):
            raise exceptions.PermissionDenied("engineers request swaps for their own shifts")
        serializer.instance = swaps.swap_request(requester=requester, **data)

    def _decide(self, request: Request, decide: Any) -> Response:
        swap = self.get_object()
        return Response(SwapSerializer(decide(swap=swap, user=request.user)).data)

    @extend_schema(request=None, responses=SwapSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str | None = None) -> Response:
        return self._decide(request, swaps.swap_accept)

    @extend_schema(request=None, responses=SwapSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: str | None = None) -> Response:
        return self._decide(request, swaps.swap_decline)

    @extend_schema(request=None, responses=SwapSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        return self._decide(request, swaps.swap_cancel)


# --- holiday calendars ------------------------------------------------------------


class HolidayCalendarViewSet(ServiceErrorsMixin, viewsets.ModelViewSet):
    serializer_class = HolidayCalendarSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self) -> QuerySet[HolidayCalendar]:
        # Only current calendars and holidays; archived/removed ones are kept for the past.
        return (
            HolidayCalendar.objects.current()
            .prefetch_related(Prefetch("holidays", queryset=Holiday.objects.current()))
            .order_by("pk")
        )

    def check_permissions(self, request: Request) -> None:
        super().check_permissions(request)
        if request.method not in SAFE_METHODS and not request.user.is_staff:
            raise exceptions.PermissionDenied("only staff manage holiday calendars")

    def _save(self, serializer: BaseSerializer[HolidayCalendar]) -> None:
        data = serializer.validated_data
        instance = serializer.instance
        holidays = data.get("holidays")
        saved = services.holiday_calendar_save(
            calendar=instance,
            name=data.get("name", instance.name if instance else ""),
            description=data.get("description", instance.description if instance else ""),
            holidays=None
            if holidays is None
            else [(h["date"], h.get("name", "")) for h in holidays],
        )
        serializer.instance = self.get_queryset().get(pk=saved.pk)

    perform_create = _save
    perform_update = _save

    def perform_destroy(self, instance: HolidayCalendar) -> None:
        # Archive: detached from its schedules now, the past keeps its holidays.
        services.holiday_calendar_archive(calendar=instance)

    @extend_schema(request=HolidayImportSerializer, responses=HolidayCalendarSerializer)
    @action(detail=True, methods=["post"], url_path="import")
    def import_ical(self, request: Request, pk: str | None = None) -> Response:
        """Import holidays from an uploaded iCal ``file`` or a ``url``."""
        calendar = self.get_object()
        form = HolidayImportSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        if data.get("url"):
            holiday_calendar_import_url(calendar=calendar, url=data["url"], replace=data["replace"])
        else:
            holiday_calendar_import_ical(
                calendar=calendar, data=data["file"].read(), replace=data["replace"]
            )
        calendar = self.get_queryset().get(pk=calendar.pk)
        return Response(HolidayCalendarSerializer(calendar).data)


# --- plain views: engineers' shifts and feeds, everyone on call -------------------


class EngineerShiftsView(ServiceErrorsMixin, APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[START, END], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> Response:
        """The engineer's shifts in all their schedules over [start, end)."""
        engineer = get_object_or_404(Engineer, pk=pk)
        start, end = range_params(request)
        names = dict(Schedule.objects.values_list("id", "name"))
        rows = []
        for schedule_id, shift in engineer_shifts(engineer_id=engineer.pk, start=start, end=end):
            entry = shift_data(shift, {engineer.pk: engineer.display_name})
            entry.update(schedule=schedule_id, schedule_name=names.get(schedule_id, ""))
            rows.append(entry)
        return Response(
            {
                "engineer": engineer.pk,
                "start": iso(start),
                "end": iso(end),
                "shifts": rows,
            }
        )


class EngineerFeedTokenView(ServiceErrorsMixin, APIView):
    permission_classes = [IsAuthenticated]

    def _engineer(self, request: Request, pk: int) -> Engineer:
        engineer = get_object_or_404(Engineer, pk=pk)
        own = engineer_for_user(request.user)
        if not request.user.is_staff and (own is None or own.pk != engineer.pk):
            raise exceptions.PermissionDenied("only the engineer or staff")
        return engineer

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, pk: int) -> Response:
        """Issue a new secret feed URL for all the engineer's shifts (revokes the old)."""
        token, _row = feeds.feed_token_rotate(engineer=self._engineer(request, pk))
        return feed_token_response(token)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        feeds.feed_token_revoke(engineer=self._engineer(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class OncallView(ServiceErrorsMixin, APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[AT], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        """Who is on call in every schedule at ``at`` (default now)."""
        at = instant_param(request, "at", timezone.now())
        schedules = list(Schedule.objects.select_related("team").order_by("team__name", "name"))
        definitions = schedule_definitions(s.pk for s in schedules)
        rows = []
        for schedule in schedules:
            entry = oncall_payload(schedule, at, definitions[schedule.pk])
            entry["team"] = schedule.team_id
            rows.append(entry)
        return Response({"at": iso(at), "schedules": rows})
