"""Forms of the incident page in the admin: add a note, reassign, set the priority."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django import forms

from oncall.people.models import Engineer
from paging.models import EscalationPolicy
from paging.models.incidents import RESOLUTIONS
from paging.priorities import Level


class IncidentNoteForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)


class IncidentReassignForm(forms.Form):
    engineers = forms.ModelMultipleChoiceField(
        queryset=Engineer.objects.order_by("display_name"), required=False
    )
    policy = forms.ModelChoiceField(
        queryset=EscalationPolicy.objects.order_by("name"), required=False
    )

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        if bool(data.get("engineers")) == bool(data.get("policy")):
            raise forms.ValidationError("Choose engineers or an escalation policy (one of them).")
        return data


class IncidentPriorityForm(forms.Form):
    """The priority select of the incident page: the levels in use, or none."""

    priority = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, label="Priority"
    )

    def __init__(self, *args: Any, levels: Sequence[Level], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.TypedChoiceField, self.fields["priority"])
        field.choices = [("", "none (not graded)")] + [
            (level.level, level.label) for level in levels
        ]


class IncidentResolveForm(forms.Form):
    """The resolve confirmation's optional "why" (false positives feed analytics)."""

    resolution = forms.ChoiceField(
        label="Resolution",
        required=False,
        choices=[("", "not said")] + RESOLUTIONS,
        help_text="optional: false positives count toward the false-positive rate",
    )
