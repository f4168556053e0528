"""GET /healthz: database, engine tick age, each tick step and (when configured) the broker.

Three answers: "ok" (200), "degraded" (200: paging works, something needs a look) and
"unhealthy" (503: pages may not go out). Anonymous callers (load balancers) get the
status only; staff (signed in) and callers with ``Authorization: Bearer <HEALTHZ_TOKEN>``
also get ``reasons`` in plain words and each check. Even then errors show only the
exception's class name; the text goes to the log.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

OK, DEGRADED, UNHEALTHY = "ok", "degraded", "unhealthy"


class Report:
    def __init__(self) -> None:
        self.status = OK
        self.reasons: list[str] = []

    def degraded(self, reason: str) -> None:
        if self.status == OK:
            self.status = DEGRADED
        self.reasons.append(reason)

    def unhealthy(self, reason: str) -> None:
        self.status = UNHEALTHY
        self.reasons.append(reason)


def _error(what: str, exc: Exception) -> str:
    logger.warning("healthz: %s failed: %s", what, exc, exc_info=True)
    return type(exc).__name__


def _database(report: Report) -> dict[str, object]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:  # any failure means unhealthy, reported not raised
        error = _error("database", exc)
        report.unhealthy(f"database unreachable ({error})")
        return {"ok": False, "error": error}


def _engine(report: Report) -> dict[str, object]:
    from paging.models import EngineHeartbeat

    try:
        beat = EngineHeartbeat.objects.filter(name="engine").first()
    except Exception as exc:
        error = _error("engine heartbeat", exc)
        report.unhealthy(f"engine heartbeat unreadable ({error})")
        return {"ok": False, "error": error}
    if beat is None:
        report.unhealthy("the engine has never ticked")
        return {"ok": False, "error": "the engine has never ticked", "last_tick_age_seconds": None}
    age = (timezone.now() - beat.last_tick_at).total_seconds()
    late_after = 2 * settings.ENGINE_TICK_SECONDS
    out: dict[str, object] = {
        "ok": age <= settings.ENGINE_STALE_SECONDS,
        "last_tick_age_seconds": round(age, 3),
        "last_tick_ms": round(beat.last_tick_ms, 3),
        "late_after_seconds": late_after,
        "stale_after_seconds": settings.ENGINE_STALE_SECONDS,
    }
    if age > settings.ENGINE_STALE_SECONDS:
        report.unhealthy(f"no engine tick for {age:.0f} s: pages are not going out")
    elif age > late_after:
        # The heartbeat is written when a tick ends, so a tick that runs longer than two
        # intervals shows here too.
        report.degraded(
            f"no engine tick for {age:.0f} s (expected every {settings.ENGINE_TICK_SECONDS} s):"
            " is the worker (or beat) running?"
        )
    return out


def _steps(report: Report) -> dict[str, dict[str, Any]]:
    """Every registered tick step; a failing critical step (escalation, dispatch) is
    unhealthy, any other failing step degraded."""
    from paging.engine import CRITICAL_STEPS, tick_steps
    from paging.models import EngineStep

    names = [step.name for step in tick_steps()]
    try:
        rows = {row.name: row for row in EngineStep.objects.filter(name__in=names)}
    except Exception as exc:
        _error("engine steps", exc)
        return {}  # the database check already says why
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        row = rows.get(name)
        critical = name in CRITICAL_STEPS
        entry: dict[str, Any] = {"status": OK, "critical": critical}
        if row is not None:
            entry["failures_total"] = row.failures_total
            entry["last_failed_at"] = row.last_failed_at
            if row.failing:
                entry["status"] = "failing"
                entry["error"] = row.last_error_class
                reason = f"tick step {name} is failing ({row.last_error_class})"
                if critical:
                    report.unhealthy(reason)
                else:
                    report.degraded(reason)
        out[name] = entry
    return out


def _broker(report: Report) -> dict[str, object] | None:
    if settings.EMBEDDED_MODE:
        return None
    from oncall.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True}
    except Exception as exc:
        error = _error("broker", exc)
        report.unhealthy(f"broker unreachable ({error})")
        return {"ok": False, "error": error}


def _details_allowed(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    token = settings.HEALTHZ_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report = Report()
    checks: dict[str, object] = {"database": _database(report), "engine": _engine(report)}
    checks["steps"] = _steps(report)
    broker = _broker(report)
    if broker is not None:
        checks["broker"] = broker
    status = 503 if report.status == UNHEALTHY else 200
    if not _details_allowed(request):
        return JsonResponse({"status": report.status}, status=status)
    mode = "embedded" if settings.EMBEDDED_MODE else "celery"
    return JsonResponse(
        {"status": report.status, "reasons": report.reasons, "mode": mode, **checks},
        status=status,
    )
