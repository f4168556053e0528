"""Serializers of the people-directory API: they parse and render; services write."""

from __future__ import annotations

from django.utils.functional import lazy
from rest_framework import serializers

from oncall.api.fields import CallableChoiceField
from oncall.channel_registry import contact_kind_choices, contact_value_help
from oncall.people.models import (
    ContactMethod,
    Engineer,
    NotificationRule,
    Team,
    TeamMembership,
    Urgency,
)
from oncall.people.validators import validate_time_zone


class TeamMemberSerializer(serializers.ModelSerializer):
    """A member as listed inside a team."""

    engineer = serializers.PrimaryKeyRelatedField(read_only=True)
    display_name = serializers.CharField(source="engineer.display_name", read_only=True)
    username = serializers.CharField(source="engineer.user.username", read_only=True)

    class Meta:
        model = TeamMembership
        fields = ["engineer", "username", "display_name", "role"]


class TeamSerializer(serializers.ModelSerializer):
    slug = serializers.SlugField(max_length=100, required=False)
    members = TeamMemberSerializer(source="memberships", many=True, read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "slug", "description", "members", "created_at"]
        read_only_fields = ["created_at"]
        # Uniqueness is checked by the services (one place, also used by the admin).
        validators: list = []
        extra_kwargs = {"name": {"validators": []}, "description": {"required": False}}


class MembershipSerializer(serializers.ModelSerializer):
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all())
    engineer = serializers.PrimaryKeyRelatedField(queryset=Engineer.objects.all())
    role = serializers.ChoiceField(
        choices=TeamMembership.Role.choices, default=TeamMembership.Role.MEMBER
    )

    class Meta:
        model = TeamMembership
        fields = ["id", "team", "engineer", "role"]
        validators: list = []


class EngineerTeamSerializer(serializers.ModelSerializer):
    """A team as listed inside an engineer."""

    team = serializers.PrimaryKeyRelatedField(read_only=True)
    slug = serializers.CharField(source="team.slug", read_only=True)
    name = serializers.CharField(source="team.name", read_only=True)

    class Meta:
        model = TeamMembership
        fields = ["team", "slug", "name", "role"]


class EngineerSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", max_length=150)
    email = serializers.EmailField(source="user.email", required=False, allow_blank=True)
    first_name = serializers.CharField(
        source="user.first_name", required=False, allow_blank=True, max_length=150
    )
    last_name = serializers.CharField(
        source="user.last_name", required=False, allow_blank=True, max_length=150
    )
    is_staff = serializers.BooleanField(source="user.is_staff", required=False)
    is_active = serializers.BooleanField(source="user.is_active", required=False)
    display_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    time_zone = serializers.CharField(
        max_length=64, required=False, validators=[validate_time_zone]
    )
    password = serializers.CharField(
        write_only=True,
        required=False,
        style={"input_type": "password"},
        help_text="Only on create; without it the user logs in with an API token only.",
    )
    teams = EngineerTeamSerializer(source="memberships", many=True, read_only=True)

    class Meta:
        model = Engineer
        fields = [
            "id",
            "username",
            "display_name",
            "email",
            "first_name",
            "last_name",
            "time_zone",
            "is_staff",
            "is_active",
            "password",
            "teams",
            "created_at",
        ]
        read_only_fields = ["created_at"]


class ContactMethodSerializer(serializers.ModelSerializer):
    engineer = serializers.PrimaryKeyRelatedField(
        queryset=Engineer.objects.all(),
        required=False,
        help_text="Defaults to the caller's own engineer profile.",
    )
    # The kinds the channels registered (read per serializer: a new kind needs no change here).
    kind = CallableChoiceField(choices=contact_kind_choices)
    value = serializers.CharField(max_length=254, help_text=lazy(contact_value_help, str)())
    is_pageable = serializers.BooleanField(read_only=True)

    class Meta:
        model = ContactMethod
        fields = [
            "id",
            "engineer",
            "kind",
            "value",
            "slack_email",
            "label",
            "verified_at",
            "disabled_at",
            "disabled_reason",
            "last_error",
            "is_pageable",
            "created_at",
        ]
        read_only_fields = list(ContactMethod.SET_BY_SERVICES)
        validators: list = []
        extra_kwargs = {"label": {"required": False}}


class NotificationRuleSerializer(serializers.ModelSerializer):
    engineer = serializers.PrimaryKeyRelatedField(
        queryset=Engineer.objects.all(),
        required=False,
        help_text="Defaults to the owner of the contact method.",
    )
    contact_method = serializers.PrimaryKeyRelatedField(queryset=ContactMethod.objects.all())
    delay_minutes = serializers.IntegerField(min_value=0, max_value=1440, default=0)
    urgency = serializers.ChoiceField(choices=Urgency.choices, default=Urgency.HIGH)

    class Meta:
        model = NotificationRule
        fields = ["id", "engineer", "contact_method", "delay_minutes", "urgency"]
        validators: list = []


class DisableSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255)


class VerifySerializer(serializers.Serializer):
    code = serializers.CharField(max_length=16, help_text="The 6 digits that were sent.")


class VerificationSentSerializer(serializers.Serializer):
    detail = serializers.CharField()
    contact_method = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    created = serializers.DateTimeField()
