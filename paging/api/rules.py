"""API of alert rules and inhibit rules: parse, call a service, present.

- ``GET/PUT /api/v1/integrations/{id}/rules/``: the integration's ordered rules, as one
  list (``{"rules": [...]}``, the config file's shape); PUT replaces them.
- ``POST /api/v1/integrations/{id}/rules/test/``: ``{"sample": <a body as the alert
  source sends it>, "rules": [...] (optional: try these instead of the saved ones)}``
  -> per alert, which rules matched (condition by condition) and what it would become.
- ``/api/v1/inhibit-rules/``: list, create, read, update, delete.

Integrations (and so their rules) are staff only; inhibit rules are read by every
signed-in user and written by staff. A bad rule is a 400 naming the field:
``{"rules[1].conditions[0].value": ["'(' is not a valid regular expression: …"]}``.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oncall.api.permissions import IsStaffOrReadOnly
from paging.models import InhibitRule, Integration
from paging.rule_writes import (
    alert_rules_save,
    calendar_exists,
    inhibit_rule_delete,
    inhibit_rule_save,
    service_lookup,
)
from paging.rules_explain import SampleInvalid, rules_try, sample_events
from paging.rules_spec import (
    RuleError,
    inhibit_data,
    inhibit_parse,
    rule_data,
    rule_spec_of,
    rules_parse,
)

RulesBody = inline_serializer(
    "AlertRules",
    {"rules": serializers.ListField(child=serializers.DictField())},
)


def _bad(exc: RuleError) -> Response:
    return Response({exc.path: [exc.problem]}, status=status.HTTP_400_BAD_REQUEST)


def _rules_out(integration: Integration) -> dict[str, Any]:
    rules = integration.rules.select_related("route_service").order_by("position", "id")
    return {"integration": integration.pk, "rules": [rule_data(r) for r in rules]}


def _integration(pk: int) -> Integration:
    if pk >= 2**63:  # past any id: a 404, not the driver's overflow
        raise Http404
    return get_object_or_404(Integration.objects.select_related("service"), pk=pk)


def _body(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise RuleError("body", "expected a JSON object")
    return request.data


class IntegrationRulesView(APIView):
    """An integration's alert rules, in order: the first that matches decides, unless
    it says ``continue``."""

    permission_classes = [IsAdminUser]

    @extend_schema(responses=RulesBody)
    def get(self, request: Request, pk: int) -> Response:
        return Response(_rules_out(_integration(pk)))

    @extend_schema(request=RulesBody, responses=RulesBody)
    def put(self, request: Request, pk: int) -> Response:
        integration = _integration(pk)
        try:
            body = _body(request)
            if "rules" not in body:
                raise RuleError("rules", "required field is missing")
            specs = rules_parse(
                body["rules"], service_for=service_lookup, calendars=calendar_exists
            )
        except RuleError as exc:
            return _bad(exc)
        alert_rules_save(integration=integration, specs=specs)
        return Response(_rules_out(integration))


class IntegrationRulesTestView(APIView):
    """Try the rules (saved, or given) on a sample body; nothing is written."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        request=inline_serializer(
            "AlertRulesTest",
            {
                "sample": serializers.DictField(),
                "rules": serializers.ListField(child=serializers.DictField(), required=False),
            },
        ),
        responses=inline_serializer(
            "AlertRulesTestResult", {"alerts": serializers.ListField(child=serializers.DictField())}
        ),
    )
    def post(self, request: Request, pk: int) -> Response:
        integration = _integration(pk)
        try:
            body = _body(request)
            if "rules" in body:
                specs = rules_parse(
                    body["rules"], service_for=service_lookup, calendars=calendar_exists
                )
            else:
                rows = integration.rules.select_related("route_service").order_by("position", "id")
                specs = [rule_spec_of(rule) for rule in rows]
            if "sample" not in body:
                raise RuleError("sample", "required field is missing")
            events = sample_events(integration.kind, body["sample"])
        except RuleError as exc:
            return _bad(exc)
        except SampleInvalid as exc:
            return Response({"sample": exc.errors}, status=status.HTTP_400_BAD_REQUEST)
        trials = rules_try(integration=integration, specs=specs, events=events)
        return Response({"alerts": [trial.as_dict() for trial in trials]})


class InhibitRuleSerializer(serializers.Serializer):
    """For the schema only: bodies are read by ``paging.rules_spec.inhibit_parse``."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField()
    description = serializers.CharField(required=False)
    enabled = serializers.BooleanField(required=False)
    source_matchers = serializers.ListField()
    target_matchers = serializers.ListField()
    equal = serializers.ListField(child=serializers.CharField(), required=False)


def _inhibit_out(rule: InhibitRule) -> dict[str, Any]:
    return {"id": rule.pk, **inhibit_data(rule)}


class InhibitRuleViewSet(viewsets.GenericViewSet):
    """Alertmanager-style inhibit rules: while an alert matching ``source_matchers`` fires,
    new alerts matching ``target_matchers`` with the same values of the ``equal`` labels
    page nobody; when it resolves, those still firing page."""

    permission_classes = [IsStaffOrReadOnly]
    serializer_class = InhibitRuleSerializer
    queryset = InhibitRule.objects.order_by("name", "id")
    lookup_value_regex = "[0-9]{1,18}"

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([_inhibit_out(r) for r in page or []])

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response(_inhibit_out(get_object_or_404(InhibitRule, pk=pk)))

    def _save(self, request: Request, rule: InhibitRule | None, partial: bool) -> Response:
        try:
            data = _body(request)
            if partial and rule is not None:
                data = {**inhibit_data(rule), **data}
            spec = inhibit_parse(data, calendars=calendar_exists)
            clash = InhibitRule.objects.filter(name=spec.name)
            if rule is not None:
                clash = clash.exclude(pk=rule.pk)
            if clash.exists():
                raise RuleError("name", f"an inhibit rule named {spec.name!r} already exists")
        except RuleError as exc:
            return _bad(exc)
        saved = inhibit_rule_save(rule=rule, spec=spec)
        code = status.HTTP_201_CREATED if rule is None else status.HTTP_200_OK
        return Response(_inhibit_out(saved), status=code)

    def create(self, request: Request) -> Response:
        return self._save(request, None, partial=False)

    def update(self, request: Request, pk: str | None = None) -> Response:
        return self._save(request, get_object_or_404(InhibitRule, pk=pk), partial=False)

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self._save(request, get_object_or_404(InhibitRule, pk=pk), partial=True)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        inhibit_rule_delete(rule=get_object_or_404(InhibitRule, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
