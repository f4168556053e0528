"""Forms of the incident page in the admin: add a note, reassign."""

from __future__ import annotations

from django import forms

from oncall.people.models import Engineer
from paging.models import EscalationPolicy


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
        data = super().clean()
        if bool(data.get("engineers")) == bool(data.get("policy")):
            raise forms.ValidationError("Choose engineers or an escalation policy (one of them).")
        return data
