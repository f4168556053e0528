"""The layer form of the schedule page: members and restrictions as text, and when the
edit takes effect (default: the layer's next handoff).

Before saving, the form works out who would be on call when the edit takes effect,
without and with it (``schedules.edit_impact``); if that changes, it says so ("On call
now changes from Alice to Bob at …") and saves only once the box is ticked.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from oncall.people.models import Engineer
from schedules.edit_impact import (
    NEXT_HANDOFF,
    NOW,
    layer_edit_impact,
    layer_next_handoff,
    version_from_fields,
)
from schedules.models import Layer
from schedules.resolver import ScheduleDefinition
from schedules.restriction_text import restriction_text, restrictions_parse
from schedules.selectors import schedule_definition
from schedules.zoned import DST_RULE, ZonedSplitDateTimeField, zone_label

AT = "at"
EFFECTIVE_CHOICES = [
    (NEXT_HANDOFF, "At the layer's next handoff"),
    (NOW, "Now"),
    (AT, "At the time given"),
]
# What a version is made of; a change to only the name or nothing does not move anyone.
ROTATION_FIELDS = {
    "level",
    "start_date",
    "handoff_time",
    "shift_length",
    "shift_unit",
    "members_text",
    "restrictions_text",
    "retire",
}


def _definition(schedule: Any) -> ScheduleDefinition | None:
    """The schedule's definition as saved, loaded once per request (shared by the forms)."""
    if schedule is None or not schedule.pk:
        return None
    cached = getattr(schedule, "_saved_definition", None)
    if cached is None:
        cached = schedule_definition(schedule.pk)
        schedule._saved_definition = cached
    return cached


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
    effective = forms.ChoiceField(
        label="Takes effect",
        choices=EFFECTIVE_CHOICES,
        initial=NEXT_HANDOFF,
        required=False,  # absent: the next handoff (a new layer: now)
        help_text="past shifts never change; a new layer starts now unless a time is given",
    )
    effective_at = ZonedSplitDateTimeField(label="Effective at", required=False)
    retire = forms.BooleanField(
        label="Retire", required=False, help_text="stops the layer when the edit takes effect"
    )
    confirm_change = forms.BooleanField(
        label="Save although who is on call changes",
        required=False,
        help_text="needed when the warning above says on call changes",
    )

    class Meta:
        model = Layer
        fields = ["name", "level", "start_date", "handoff_time", "shift_length", "shift_unit"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.impact_message = ""
        # The page's zone is active (ZonedAdminMixin): the schedule's.
        zone = timezone.get_current_timezone_name()
        cast(ZonedSplitDateTimeField, self.fields["effective_at"]).zone = zone
        self.fields[
            "effective_at"
        ].help_text = (
            f"in {zone_label(zone)}, when 'Takes effect' is 'At the time given'. {DST_RULE}"
        )
        for name in ("start_date", "handoff_time"):
            if name in self.fields:
                self.fields[name].help_text = f"local time in {zone}"
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
        else:
            self.fields["effective"].initial = NOW

    def clean_members_text(self) -> list[Engineer]:
        names = [n.strip() for n in self.cleaned_data["members_text"].split(",") if n.strip()]
        found = {e.user.username: e for e in Engineer.objects.filter(user__username__in=names)}
        missing = [n for n in names if n not in found]
        if missing:
            raise ValidationError(f"unknown engineer(s): {', '.join(missing)}")
        return [found[n] for n in names]

    def clean_restrictions_text(self) -> list:
        return restrictions_parse(self.cleaned_data["restrictions_text"])

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.errors or not self.has_changed():
            return data
        now = timezone.now()
        layer_id = self.instance.pk
        definition = _definition(getattr(self.instance, "schedule", None))
        choice = data.get("effective") or NEXT_HANDOFF
        if choice == AT:
            when = data.get("effective_at")
            if when is None:
                self.add_error("effective_at", "give the time the edit takes effect")
                return data
            if when < now:
                self.add_error("effective_at", "edits cannot take effect in the past")
                return data
        elif choice == NEXT_HANDOFF and layer_id and definition is not None:
            when = layer_next_handoff(definition, layer_id=layer_id, after=now)
        else:
            when = now
        data["effective_from"] = when
        if definition is None or not (ROTATION_FIELDS & set(self.changed_data)):
            return data
        impact = layer_edit_impact(
            definition,
            layer_id=layer_id,
            name=data.get("name") or "",
            level=data.get("level") or 0,
            version=version_from_fields(
                {
                    **data,
                    "members": data.get("members_text"),
                    "restrictions": data.get("restrictions_text"),
                },
                effective_from=when,
                zone=definition.time_zone,
                active=not data.get("retire"),
            ),
            now=now,
            names={e.pk: e.display_name for e in data.get("members_text") or []},
        )
        if impact.changes:
            self.impact_message = impact.message()
            if not data.get("confirm_change"):
                raise ValidationError(
                    f"{self.impact_message} Tick 'Save although who is on call changes' to"
                    " save, or choose another moment in 'Takes effect'.",
                    code="changes_oncall",
                )
        return data
