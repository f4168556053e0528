"""Alert quality: the false-positive rate, the escalation rate per service and the
noisiest alert names.

- **False-positive rate** = incidents resolved as ``false_positive`` / incidents resolved
  *with a resolution* (``classified``): an incident nobody classified says nothing either
  way, so it is in neither count (``resolved`` and ``classified`` are given beside the
  rate, so a low coverage shows). The runbooks' target: below ``FALSE_POSITIVE_TARGET``.
- **Escalation rate** = incidents that escalated beyond step 1 (``metrics.escalated_q``)
  / incidents.
- **Alert name** = the Alertmanager / Grafana label ``alertname`` when the incident has
  one, else the incident's title. The noisiest are the names with the most incidents.
Incidents are selected as every metric selects them (``analytics.filters.incidents_in``).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, Q, QuerySet, TextField, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, NullIf

from analytics.filters import MetricFilter, incidents_in
from analytics.metrics import escalated_q
from analytics.sla import ratio
from paging.models import Incident, Service

FALSE_POSITIVE = "false_positive"
# The runbooks' KPI: fewer than 5% of classified incidents were false positives.
FALSE_POSITIVE_TARGET = 0.05
DEFAULT_TOP = 10
MAX_TOP = 100


def _counts() -> dict[str, Any]:
    return {
        "incidents": Count("id"),
        "resolved": Count("id", filter=Q(resolved_at__isnull=False)),
        "classified": Count("id", filter=Q(resolution__isnull=False)),
        "false_positive": Count("id", filter=Q(resolution=FALSE_POSITIVE)),
        "escalated": Count("id", filter=escalated_q()),
    }


def _rates(row: dict[str, Any]) -> dict[str, Any]:
    rate = ratio(row["false_positive"], row["classified"])
    return {
        **row,
        "false_positive_rate": rate,
        # None: nothing classified yet, so no verdict.
        "meets_target": None if rate is None else rate < FALSE_POSITIVE_TARGET,
        "escalation_rate": ratio(row["escalated"], row["incidents"]),
    }


def alert_name() -> Any:
    """The alert name of an incident row: label ``alertname``, else the title."""
    return Coalesce(
        NullIf(KT("details__labels__alertname"), Value("")),
        F("title"),
        output_field=TextField(),
    )


def alert_quality(*, flt: MetricFilter, top: int = DEFAULT_TOP) -> dict[str, Any]:
    """Overall and per-service false-positive and escalation rates, and the ``top``
    noisiest alert names with their false-positive share. Three grouped queries."""
    qs: QuerySet[Incident] = incidents_in(flt=flt)
    overall = _rates(qs.aggregate(**_counts()))
    per_service = list(qs.values("service_id").annotate(**_counts()).order_by("service_id"))
    names = dict(
        Service.objects.filter(pk__in=[r["service_id"] for r in per_service]).values_list(
            "pk", "name"
        )
    )
    services = sorted(
        (
            _rates({"service_id": r["service_id"], "service_name": names.get(r["service_id"]), **r})
            for r in per_service
        ),
        key=lambda r: (r["service_name"] or "", r["service_id"]),
    )
    noisy = (
        qs.annotate(alert_name=alert_name())
        .values("alert_name")
        .annotate(
            incidents=Count("id"),
            classified=Count("id", filter=Q(resolution__isnull=False)),
            false_positive=Count("id", filter=Q(resolution=FALSE_POSITIVE)),
        )
        .order_by("-incidents", "alert_name")[:top]
    )
    alerts = [
        {
            **row,
            "false_positive_share": ratio(row["false_positive"], row["classified"]),
        }
        for row in noisy
    ]
    return {
        "target_false_positive_rate": FALSE_POSITIVE_TARGET,
        "overall": overall,
        "services": services,
        "alerts": alerts,
    }
