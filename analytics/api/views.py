"""Analytics REST endpoints: JSON by default, CSV with ?format=csv or Accept: text/csv.

Any authenticated user may read them (engineers look at their own team's load and
response times; nothing here is secret within the organisation), like the incidents
list they are computed from.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import load, metrics, noise
from analytics.api.params import metric_params
from analytics.api.renderers import MarkdownRenderer
from analytics.db import analytics_session
from analytics.filters import MetricFilter
from analytics.review import review_markdown
from analytics.sla import sla_by_priority
from oncall.api.params import int_param
from oncall.api.renderers import CSVRenderer
from paging.models import Incident


class MetricView(APIView):
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer, CSVRenderer]
    csv_name = "analytics"
    takes_breakdown = True

    def rows(self, flt: MetricFilter, by: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        flt, by = metric_params(request.query_params)
        by = by if self.takes_breakdown else "none"
        with analytics_session():
            rows = self.rows(flt, by)
        return Response(
            {
                "period": {
                    "start": flt.start.isoformat(),
                    "end": flt.end.isoformat(),
                    "tz": str(flt.tz),
                },
                "by": by,
                "rows": rows,
            }
        )


class ResponseTimesView(MetricView):
    """MTTA and MTTR: count, mean, p50, p90, p95 (seconds)."""

    csv_name = "response-times"

    def rows(self, flt: MetricFilter, by: str) -> list[dict[str, Any]]:
        return metrics.response_times(flt=flt, by=by)


class EscalationRateView(MetricView):
    csv_name = "escalation-rate"

    def rows(self, flt: MetricFilter, by: str) -> list[dict[str, Any]]:
        return metrics.escalation_rate(flt=flt, by=by)


class TimeToFirstPageView(MetricView):
    csv_name = "time-to-first-page"

    def rows(self, flt: MetricFilter, by: str) -> list[dict[str, Any]]:
        return metrics.time_to_first_page(flt=flt, by=by)


class DeliveryView(MetricView):
    csv_name = "delivery"
    takes_breakdown = False

    def rows(self, flt: MetricFilter, by: str) -> list[dict[str, Any]]:
        return metrics.delivery_rates(flt=flt)


class SlaView(MetricView):
    csv_name = "sla"
    takes_breakdown = False

    def rows(self, flt: MetricFilter, by: str) -> list[dict[str, Any]]:
        return metrics.sla_attainment(flt=flt)


class SlaByPriorityView(MetricView):
    """Per priority: acknowledged / resolved within the priority's targets."""

    csv_name = "sla-by-priority"
    takes_breakdown = False

    def rows(self, flt: MetricFilter, by: str) -> list[dict[str, Any]]:
        return sla_by_priority(flt=flt)


def top_param(request: Request) -> int:
    """``top``: how many alert names (1..MAX_TOP, default DEFAULT_TOP); 400 naming it."""
    top = int_param(request, "top")
    if top is None:
        return noise.DEFAULT_TOP
    if not 1 <= top <= noise.MAX_TOP:
        raise ValidationError({"top": [f"must be 1 to {noise.MAX_TOP}"]})
    return top


class AlertQualityView(MetricView):
    """False-positive rate (target < 5%) and escalation rate, overall and per service
    (``rows``), and the ``top`` noisiest alert names with their false-positive share."""

    csv_name = "alert-quality"
    takes_breakdown = False

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        flt, _ = metric_params(request.query_params)
        top = top_param(request)
        with analytics_session():
            quality = noise.alert_quality(flt=flt, top=top)
        return Response(
            {
                "period": {
                    "start": flt.start.isoformat(),
                    "end": flt.end.isoformat(),
                    "tz": str(flt.tz),
                },
                "target_false_positive_rate": quality["target_false_positive_rate"],
                "overall": quality["overall"],
                "rows": quality["services"],
                "alerts": quality["alerts"],
            }
        )


class OncallLoadView(MetricView):
    csv_name = "oncall-load"
    takes_breakdown = False

    def rows(self, flt: MetricFilter, by: str) -> list[dict[str, Any]]:
        return load.oncall_load(start=flt.start, end=flt.end, team=flt.team, engineer=flt.engineer)


class IncidentReviewView(APIView):
    """A Markdown post-incident review draft (``?format=json`` wraps it in JSON)."""

    permission_classes = [IsAuthenticated]
    renderer_classes = [MarkdownRenderer, JSONRenderer]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: str) -> Response:
        if not pk.isdigit():
            return Response({"detail": "incident id must be a number"}, status=400)
        try:
            text = review_markdown(incident_id=int(pk), now=timezone.now())
        except Incident.DoesNotExist:
            return Response({"detail": "no such incident"}, status=404)
        return Response({"incident": int(pk), "markdown": text})
