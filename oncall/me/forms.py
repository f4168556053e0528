"""The shapes of what engineers type on /me/ (the rules themselves live in the services:
their ValidationErrors are put back on these forms by ``errors_onto``)."""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from oncall.channel_registry import contact_kind_choices
from oncall.people.models import ContactMethod, Engineer, Urgency
from paging.channels.webpush.subscriptions import KIND as WEBPUSH_KIND
from schedules.models import TimeOff
from schedules.zoned import DST_RULE, local_instant


def method_name(cm: ContactMethod) -> str:
    return f"{cm.label} ({cm.get_kind_display()})" if cm.label else str(cm)


def errors_onto(form: forms.Form, exc: ValidationError) -> None:
    """A service's field errors on the form's field of that name, the rest on top."""
    for field, messages in exc.message_dict.items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(
                target, message if target or field == NON_FIELD_ERRORS else f"{field}: {message}"
            )


def typed_kind_choices() -> list[tuple[str, str]]:
    """The kinds whose value people type: a web-push method is made by subscribing a
    browser (its own button on /me/contact/), never typed."""
    return [(name, label) for name, label in contact_kind_choices() if name != WEBPUSH_KIND]


class ContactMethodForm(forms.Form):
    kind = forms.ChoiceField(choices=typed_kind_choices)
    value = forms.CharField(
        max_length=254,
        help_text="Phone in international form (+49 151 …), an e-mail address, or a Slack "
        "member id (U…) or your Slack e-mail.",
    )
    label = forms.CharField(max_length=64, required=False, help_text="e.g. “Work mobile”")


class VerifyForm(forms.Form):
    code = forms.CharField(max_length=12, label="Code we sent")


class RuleForm(forms.Form):
    urgency = forms.ChoiceField(choices=Urgency.choices)
    contact_method = forms.ModelChoiceField(queryset=ContactMethod.objects.none(), label="Notify")
    delay_minutes = forms.IntegerField(
        min_value=0, max_value=1440, initial=0, label="After (minutes; 0 = at once)"
    )

    def __init__(self, *args: object, engineer: Engineer, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["contact_method"]
        field.queryset = ContactMethod.objects.filter(engineer=engineer)  # type: ignore[attr-defined]
        field.label_from_instance = method_name  # type: ignore[attr-defined]


class SwapForm(forms.Form):
    """Hand one of my coming shifts to a teammate."""

    shift = forms.ChoiceField(label="My shift")
    teammate = forms.ModelChoiceField(queryset=Engineer.objects.none(), label="Teammate")
    note = forms.CharField(max_length=255, required=False, label="Message (optional)")

    def __init__(
        self,
        *args: object,
        shifts: list[tuple[str, str]],
        teammates: list[Engineer],
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["shift"].choices = shifts  # type: ignore[attr-defined]
        field = self.fields["teammate"]
        field.queryset = Engineer.objects.filter(pk__in=[e.pk for e in teammates])  # type: ignore[attr-defined]

    def span(self) -> tuple[int, datetime, datetime]:
        """(schedule id, start, end) of the chosen shift (one of the offered choices)."""
        schedule_id, start, end = self.cleaned_data["shift"].split("|")
        return int(schedule_id), datetime.fromisoformat(start), datetime.fromisoformat(end)


class TimeOffForm(forms.Form):
    """Start and end are read in the engineer's zone (named beside the fields)."""

    start = forms.DateTimeField(
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    end = forms.DateTimeField(
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    kind = forms.ChoiceField(choices=TimeOff.Kind.choices, initial=TimeOff.Kind.VACATION)
    note = forms.CharField(max_length=255, required=False, label="Reason (optional)")

    def __init__(self, *args: object, zone: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone
        for name in ("start", "end"):
            self.fields[name].label = f"{name.capitalize()} ({zone})"
            self.fields[name].help_text = DST_RULE

    def _local(self, name: str) -> datetime | None:
        value = self.cleaned_data.get(name)
        if value is None:
            return None
        try:
            return local_instant(value.replace(tzinfo=None), self.zone)
        except ValidationError as exc:
            self.add_error(name, exc)
            return None

    def clean(self) -> dict:
        cleaned = super().clean()
        cleaned["start"], cleaned["end"] = self._local("start"), self._local("end")
        return cleaned


class MethodEditForm(forms.Form):
    """A method's value and label (its kind stays: a new kind is a new method)."""

    value = forms.CharField(max_length=254)
    label = forms.CharField(max_length=64, required=False)
