"""Schedules: layers (rotations) with restrictions, overrides, swaps, time off, holidays.

The editable rows (Layer, LayerMember, Restriction) hold the *current* definition.
Every edit, through ``schedules.services``, also writes an immutable ``LayerVersion``
snapshot effective from the moment of the edit (or a chosen later handoff); the
resolver reads only the snapshots, so edits never rewrite the past.
"""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from oncall.people.models import Engineer, Team
from oncall.people.validators import validate_time_zone


class HolidayCalendarQuerySet(models.QuerySet["HolidayCalendar"]):
    def current(self) -> HolidayCalendarQuerySet:
        """Calendars not archived (the ones lists show)."""
        return self.filter(archived_at__isnull=True)


class HolidayCalendar(models.Model):
    """A named list of holiday dates ("US", "Germany"), attachable to schedules.

    Deleting a calendar archives it (``archived_at``): it is detached from its schedules
    at that moment and leaves the lists, but the past keeps its holidays.
    """

    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    source_url = models.URLField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = HolidayCalendarQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(archived_at__isnull=True),
                name="uniq_current_calendar_name",
            )
        ]

    def __str__(self) -> str:
        return self.name


class HolidayQuerySet(models.QuerySet["Holiday"]):
    def current(self) -> HolidayQuerySet:
        """Holidays on the calendar now (not removed)."""
        return self.filter(removed_at__isnull=True)


class Holiday(models.Model):
    """A holiday date, on its calendar from ``added_at`` until ``removed_at`` (if ever).

    Rows are never deleted by edits: removing a holiday sets ``removed_at``, so the
    resolver can apply each date only in [added_at, removed_at) and the past keeps
    the holidays it had then.
    """

    calendar = models.ForeignKey(HolidayCalendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=200, blank=True)
    added_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = HolidayQuerySet.as_manager()

    class Meta:
        ordering = ["calendar", "date", "added_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["calendar", "date"],
                condition=Q(removed_at__isnull=True),
                name="uniq_current_holiday_date",
            )
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class Schedule(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="schedules")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    swaps_need_approval = models.BooleanField(
        default=False, help_text="an accepted swap waits for a team admin's approval"
    )
    time_off_needs_approval = models.BooleanField(
        default=False,
        help_text="time off an engineer of this schedule books waits for a team admin's approval",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name", "name"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="uniq_schedule_name")]

    def __str__(self) -> str:
        return f"{self.team} / {self.name}"

    @property
    def holiday_calendars(self) -> list[HolidayCalendar]:
        """Calendars attached now; prefetch ``calendar_links__calendar`` for lists."""
        links = self.calendar_links.all()
        return sorted(
            (link.calendar for link in links if link.detached_at is None), key=lambda c: c.pk
        )


class ScheduleCalendarLink(models.Model):
    """A holiday calendar attached to a schedule over [attached_at, detached_at).

    Links are never deleted by edits: detaching sets ``detached_at``, so the loader can
    apply the calendar's holidays only to the time it was attached.
    """

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="calendar_links")
    calendar = models.ForeignKey(
        HolidayCalendar, on_delete=models.CASCADE, related_name="schedule_links"
    )
    attached_at = models.DateTimeField(default=timezone.now)
    detached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["schedule", "calendar", "attached_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "calendar"],
                condition=Q(detached_at__isnull=True),
                name="uniq_current_calendar_link",
            )
        ]

    def __str__(self) -> str:
        return f"{self.schedule} + {self.calendar}"


class ShiftUnit(models.TextChoices):
    HOURS = "hours", "Hours"
    DAYS = "days", "Days"
    WEEKS = "weeks", "Weeks"


# Far longer than any rotation (10,000 weeks is 190 years); beyond it a shift's end
# overflows the column or Python's dates (a 500 for a typo'd number).
MAX_SHIFT_LENGTH = 10_000


class Layer(models.Model):
    """A rotation. Higher ``level`` wins over lower ones."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="layers")
    name = models.CharField(max_length=100)
    level = models.PositiveIntegerField(default=0)
    start_date = models.DateField(help_text="first handoff day, in the schedule's time zone")
    handoff_time = models.TimeField(default=time(9, 0), help_text="local wall-clock time")
    shift_length = models.PositiveIntegerField(default=1)
    shift_unit = models.CharField(max_length=8, choices=ShiftUnit.choices, default=ShiftUnit.WEEKS)
    members = models.ManyToManyField(Engineer, through="LayerMember", related_name="layers")
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["schedule", "-level", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(shift_length__gte=1), name="layer_shift_length_pos")
        ]

    def __str__(self) -> str:
        return f"{self.schedule.name} / {self.name}"


class LayerMember(models.Model):
    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="layer_members")
    engineer = models.ForeignKey(Engineer, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["layer", "position", "id"]

    def __str__(self) -> str:
        return f"{self.position}: {self.engineer}"


class Restriction(models.Model):
    """A weekly window the layer covers, e.g. Mon-Fri 09:00-17:00.

    ``end_time`` not after ``start_time`` means the window ends the next day;
    00:00-00:00 is the whole day. ``business_hours`` windows do not apply on holidays.
    """

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="restrictions")
    weekdays = models.JSONField(default=list, help_text="0 = Monday … 6 = Sunday")
    start_time = models.TimeField(default=time(0, 0))
    end_time = models.TimeField(default=time(0, 0))
    business_hours = models.BooleanField(default=False)

    class Meta:
        ordering = ["layer", "id"]

    def __str__(self) -> str:
        days = ",".join("MTWTFSS"[d] for d in sorted(self.weekdays or []))
        return f"{days} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class LayerVersion(models.Model):
    """An immutable snapshot of a layer, in force from ``effective_from``."""

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="versions")
    effective_from = models.DateTimeField()
    active = models.BooleanField(default=True)
    definition = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["layer", "effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["layer", "effective_from"], name="uniq_layer_version")
        ]

    def __str__(self) -> str:
        return f"{self.layer} from {self.effective_from:%Y-%m-%d %H:%M}"


class Override(models.Model):
    """``engineer`` is on call over [start, end): for the whole schedule, or only where
    ``replace_engineer`` would be. The most recently created wins where they overlap."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="overrides")
    engineer = models.ForeignKey(Engineer, on_delete=models.CASCADE, related_name="overrides")
    replace_engineer = models.ForeignKey(
        Engineer, null=True, blank=True, on_delete=models.CASCADE, related_name="replaced_by"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["schedule", "start", "id"]
        indexes = [models.Index(fields=["schedule", "end"], name="override_sched_end")]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="override_span")
        ]

    def __str__(self) -> str:
        return f"{self.engineer} {self.start:%Y-%m-%d %H:%M}-{self.end:%Y-%m-%d %H:%M} UTC"


class TimeOff(models.Model):
    class Kind(models.TextChoices):
        VACATION = "vacation", "Vacation"
        SICK = "sick", "Sick leave"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        APPROVED = "approved", "Approved"
        AWAITING = "awaiting", "Awaiting a team admin's approval"
        DECLINED = "declined", "Declined"

    engineer = models.ForeignKey(Engineer, on_delete=models.CASCADE, related_name="time_off")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.VACATION)
    # Only approved time off counts in the resolver.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.APPROVED)
    start = models.DateTimeField()
    end = models.DateTimeField()
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["engineer", "start"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="time_off_span")
        ]

    def __str__(self) -> str:
        return f"{self.engineer} off {self.start:%Y-%m-%d}-{self.end:%Y-%m-%d}"


class SwapRequest(models.Model):
    """``requester`` asks ``teammate`` to take their shifts over [start, end)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        AWAITING = "awaiting", "Awaiting a team admin's approval"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        EXPIRED = "expired", "Expired"
        CANCELLED = "cancelled", "Cancelled"

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="swaps")
    requester = models.ForeignKey(Engineer, on_delete=models.CASCADE, related_name="swaps_asked")
    teammate = models.ForeignKey(Engineer, on_delete=models.CASCADE, related_name="swaps_offered")
    start = models.DateTimeField()
    end = models.DateTimeField()
    note = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    override = models.OneToOneField(
        Override, null=True, blank=True, on_delete=models.SET_NULL, related_name="swap"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "start"], name="swap_status_start")]
        constraints = [models.CheckConstraint(condition=Q(end__gt=F("start")), name="swap_span")]

    def __str__(self) -> str:
        return (
            f"{self.requester} -> {self.teammate} {self.start:%Y-%m-%d %H:%M} UTC ({self.status})"
        )


class FeedToken(models.Model):
    """A secret iCal feed URL token for one schedule or one engineer; only its hash is kept."""

    class Kind(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        ENGINEER = "engineer", "Engineer"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    schedule = models.ForeignKey(
        Schedule, null=True, blank=True, on_delete=models.CASCADE, related_name="feed_tokens"
    )
    engineer = models.ForeignKey(
        Engineer, null=True, blank=True, on_delete=models.CASCADE, related_name="feed_tokens"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="schedule", schedule__isnull=False, engineer__isnull=True))
                | (Q(kind="engineer", engineer__isnull=False, schedule__isnull=True)),
                name="feed_token_subject",
            )
        ]

    def __str__(self) -> str:
        subject = self.schedule if self.kind == self.Kind.SCHEDULE else self.engineer
        state = "revoked" if self.revoked_at else "active"
        return f"feed for {subject} ({state})"
