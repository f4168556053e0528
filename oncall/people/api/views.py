"""People-directory API views: parse with a serializer, call a service, render.

Permissions are described in ``oncall.api.permissions``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oncall.api.errors import ServiceErrorsMixin
from oncall.api.params import int_param
from oncall.api.permissions import EngineerPermission, IsStaffOrReadOnly
from oncall.people import selectors, services
from oncall.people.api.serializers import (
    ContactMethodSerializer,
    DisableSerializer,
    EngineerSerializer,
    MembershipSerializer,
    NotificationRuleSerializer,
    TeamSerializer,
    TokenSerializer,
    VerificationSentSerializer,
    VerifySerializer,
)
from oncall.people.models import ContactMethod, Engineer, NotificationRule, Team, TeamMembership

# --- teams -------------------------------------------------------------------


class TeamViewSet(ServiceErrorsMixin, viewsets.ModelViewSet):
    """Teams. Everyone signed in reads; staff create, change and delete."""

    serializer_class = TeamSerializer
    permission_classes = [IsStaffOrReadOnly]
    queryset = Team.objects.prefetch_related("memberships__engineer__user").order_by("name")

    def perform_create(self, serializer: TeamSerializer) -> None:
        serializer.instance = services.team_create(**serializer.validated_data)

    def perform_update(self, serializer: TeamSerializer) -> None:
        serializer.instance = services.team_update(
            team=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance: Team) -> None:
        services.team_delete(team=instance)


@extend_schema(
    parameters=[
        OpenApiParameter("team", OpenApiTypes.INT, description="Only this team's members"),
        OpenApiParameter("engineer", OpenApiTypes.INT, description="Only this engineer's teams"),
    ]
)
class TeamMembershipViewSet(ServiceErrorsMixin, viewsets.ModelViewSet):
    """Who is in which team, with which role. POST is an upsert (sets the role)."""

    serializer_class = MembershipSerializer
    permission_classes = [IsStaffOrReadOnly]

    def get_queryset(self) -> QuerySet[TeamMembership]:
        qs = TeamMembership.objects.select_related("team", "engineer").order_by("pk")
        if (team_id := int_param(self.request, "team")) is not None:
            qs = qs.filter(team_id=team_id)
        if (engineer_id := int_param(self.request, "engineer")) is not None:
            qs = qs.filter(engineer_id=engineer_id)
        return qs

    def perform_create(self, serializer: MembershipSerializer) -> None:
        serializer.instance = services.team_membership_set(**serializer.validated_data)

    def perform_update(self, serializer: MembershipSerializer) -> None:
        membership: TeamMembership = serializer.instance
        data = serializer.validated_data
        for field in ("team", "engineer"):
            if field in data and data[field] != getattr(membership, field):
                raise exceptions.ValidationError(
                    {field: ["cannot be changed; delete this membership and create another"]}
                )
        serializer.instance = services.team_membership_set(
            team=membership.team,
            engineer=membership.engineer,
            role=data.get("role") or membership.role,
        )

    def perform_destroy(self, instance: TeamMembership) -> None:
        services.team_membership_remove(team=instance.team, engineer=instance.engineer)


# --- engineers -----------------------------------------------------------------


_STAFF_ONLY_ENGINEER_FIELDS = ("is_staff", "is_active")


def _engineer_kwargs(data: dict[str, Any]) -> dict[str, Any]:
    """Flatten the serializer's ``{"user": {...}}`` nesting into service arguments."""
    flat = dict(data)
    flat.update(flat.pop("user", {}))
    return flat


@extend_schema(
    parameters=[OpenApiParameter("team", OpenApiTypes.INT, description="Only this team")]
)
class EngineerViewSet(ServiceErrorsMixin, viewsets.ModelViewSet):
    """Engineers. Everyone signed in reads; staff create and change anyone; an engineer
    may change their own name, e-mail and time zone. Not deleted through the API:
    deactivate (``is_active: false``) or use the admin."""

    serializer_class = EngineerSerializer
    permission_classes = [EngineerPermission]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Engineer]:
        return selectors.engineers_list(team_id=int_param(self.request, "team")).order_by(
            "display_name", "pk"
        )

    def perform_create(self, serializer: EngineerSerializer) -> None:
        serializer.instance = services.engineer_create(
            **_engineer_kwargs(serializer.validated_data)
        )

    def perform_update(self, serializer: EngineerSerializer) -> None:
        data = _engineer_kwargs(serializer.validated_data)
        engineer: Engineer = serializer.instance
        if data.pop("password", None) is not None:
            raise exceptions.ValidationError(
                {"password": ["cannot be changed here; use the admin or the password form"]}
            )
        username = data.pop("username", None)
        if username is not None and username != engineer.user.username:
            raise exceptions.ValidationError({"username": ["cannot be changed"]})
        if not self.request.user.is_staff:
            for field in _STAFF_ONLY_ENGINEER_FIELDS:
                if field in data:
                    raise exceptions.PermissionDenied(f"only staff can change {field}")
        serializer.instance = services.engineer_update(engineer=engineer, **data)

    @extend_schema(responses=EngineerSerializer, parameters=[])
    @action(detail=False, methods=["get"], permission_classes=[IsAuthenticated])
    def me(self, request: Request) -> Response:
        """The caller's own engineer record (404 if the user has none)."""
        engineer = selectors.engineer_for_user(request.user)
        if engineer is None:
            raise exceptions.NotFound("you have no engineer profile")
        return Response(EngineerSerializer(engineer).data)


# --- contact methods and rules: one's own only (staff: all) -----------------------


class OwnedByEngineerMixin(ServiceErrorsMixin):
    """Scopes the queryset to the caller's own rows (staff see all): others' are 404."""

    request: Request

    def scoped(self, qs: QuerySet) -> QuerySet:
        if not self.request.user.is_staff:
            own = selectors.engineer_for_user(self.request.user)
            qs = qs.filter(engineer=own) if own is not None else qs.none()
        if (engineer_id := int_param(self.request, "engineer")) is not None:
            qs = qs.filter(engineer_id=engineer_id)
        return qs

    def target_engineer(self, requested: Engineer | None, default: Engineer | None) -> Engineer:
        """The engineer a new row belongs to; non-staff may only create their own."""
        own = selectors.engineer_for_user(self.request.user)
        engineer = requested or (own if not self.request.user.is_staff else default) or own
        if engineer is None:
            raise exceptions.ValidationError(
                {"engineer": ["required: you have no engineer profile of your own"]}
            )
        if not self.request.user.is_staff and engineer != own:
            raise exceptions.PermissionDenied(
                "you can only manage your own contact methods and rules"
            )
        return engineer


_ENGINEER_FILTER = OpenApiParameter(
    "engineer", OpenApiTypes.INT, description="Only this engineer's (staff)"
)


@extend_schema(parameters=[_ENGINEER_FILTER])
class ContactMethodViewSet(OwnedByEngineerMixin, viewsets.ModelViewSet):
    """Contact methods. Phones (voice, sms) are paged only once verified."""

    serializer_class = ContactMethodSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self) -> QuerySet[ContactMethod]:
        return self.scoped(ContactMethod.objects.select_related("engineer")).order_by("pk")

    def perform_create(self, serializer: ContactMethodSerializer) -> None:
        data = dict(serializer.validated_data)
        engineer = self.target_engineer(data.pop("engineer", None), None)
        serializer.instance = services.contact_method_create(engineer=engineer, **data)

    def perform_update(self, serializer: ContactMethodSerializer) -> None:
        cm: ContactMethod = serializer.instance
        data = dict(serializer.validated_data)
        if "kind" in data and data.pop("kind") != cm.kind:
            raise exceptions.ValidationError(
                {"kind": ["cannot be changed; add a new contact method instead"]}
            )
        if "engineer" in data and data.pop("engineer") != cm.engineer:
            raise exceptions.ValidationError(
                {"engineer": ["cannot be changed; add a contact method to the other engineer"]}
            )
        serializer.instance = services.contact_method_update(contact_method=cm, **data)

    def perform_destroy(self, instance: ContactMethod) -> None:
        services.contact_method_delete(contact_method=instance)

    @extend_schema(
        request=None,
        responses={
            202: VerificationSentSerializer,
            400: OpenApiResponse(description="disabled or already verified"),
            429: OpenApiResponse(description="too soon; see the Retry-After header"),
        },
    )
    @action(detail=True, methods=["post"], url_path="send-verification")
    def send_verification(self, request: Request, pk: str | None = None) -> Response:
        """Send a 6-digit code through this contact method (valid 15 minutes).

        At most one code a minute and five an hour per contact method; beyond that
        the answer is 429 with ``Retry-After``.
        """
        cm = self.get_object()
        try:
            sent = services.contact_method_send_verification(contact_method=cm)
        except services.VerificationRateLimited as exc:
            raise exceptions.Throttled(wait=exc.retry_after, detail=str(exc)) from None
        body = {
            "detail": f"a code was sent to {cm.value}",
            "contact_method": cm.pk,
            "expires_at": sent.code.expires_at,
        }
        return Response(VerificationSentSerializer(body).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=VerifySerializer, responses=ContactMethodSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request: Request, pk: str | None = None) -> Response:
        """Check a code sent by ``send-verification``; 5 wrong guesses kill a code."""
        cm = self.get_object()
        parsed = VerifySerializer(data=request.data)
        parsed.is_valid(raise_exception=True)
        cm = services.contact_method_verify(contact_method=cm, code=parsed.validated_data["code"])
        return Response(ContactMethodSerializer(cm).data)

    @extend_schema(request=DisableSerializer, responses=ContactMethodSerializer)
    @action(detail=True, methods=["post"])
    def disable(self, request: Request, pk: str | None = None) -> Response:
        """Stop paging this method, with a reason shown to people."""
        cm = self.get_object()
        parsed = DisableSerializer(data=request.data)
        parsed.is_valid(raise_exception=True)
        cm = services.contact_method_disable(
            contact_method=cm, reason=parsed.validated_data["reason"]
        )
        return Response(ContactMethodSerializer(cm).data)

    @extend_schema(request=None, responses=ContactMethodSerializer)
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, pk: str | None = None) -> Response:
        cm = services.contact_method_enable(contact_method=self.get_object())
        return Response(ContactMethodSerializer(cm).data)


@extend_schema(parameters=[_ENGINEER_FILTER])
class NotificationRuleViewSet(OwnedByEngineerMixin, viewsets.ModelViewSet):
    """Notification rules: "use this contact method N minutes into a page"."""

    serializer_class = NotificationRuleSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self) -> QuerySet[NotificationRule]:
        return self.scoped(NotificationRule.objects.select_related("contact_method")).order_by(
            "engineer_id", "urgency", "delay_minutes", "pk"
        )

    def perform_create(self, serializer: NotificationRuleSerializer) -> None:
        data = dict(serializer.validated_data)
        cm: ContactMethod = data["contact_method"]
        engineer = self.target_engineer(data.pop("engineer", None), cm.engineer)
        serializer.instance = services.notification_rule_create(engineer=engineer, **data)

    def perform_update(self, serializer: NotificationRuleSerializer) -> None:
        rule: NotificationRule = serializer.instance
        data = dict(serializer.validated_data)
        if "engineer" in data and data.pop("engineer") != rule.engineer:
            raise exceptions.ValidationError({"engineer": ["cannot be changed"]})
        serializer.instance = services.notification_rule_update(rule=rule, **data)

    def perform_destroy(self, instance: NotificationRule) -> None:
        services.notification_rule_delete(rule=instance)


# --- my API token ----------------------------------------------------------------


class MeTokenView(APIView):
    """My API token: GET shows it (creating one if needed), POST replaces it."""

    permission_classes = [IsAuthenticated]

    def _render(self, token: Token) -> Response:
        return Response(TokenSerializer({"token": token.key, "created": token.created}).data)

    @extend_schema(request=None, responses=TokenSerializer)
    def get(self, request: Request) -> Response:
        return self._render(services.user_token_get(user=request.user))

    @extend_schema(request=None, responses=TokenSerializer)
    def post(self, request: Request) -> Response:
        token = services.user_token_rotate(user=request.user)
        return self._render(token)
