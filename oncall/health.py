"""GET /healthz: database, engine tick age and (when configured) the broker."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET


def _database() -> dict[str, object]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:  # any failure means unhealthy, reported not raised
        return {"ok": False, "error": str(exc)}


def _engine() -> dict[str, object]:
    from paging.models import EngineHeartbeat

    try:
        beat = EngineHeartbeat.objects.filter(name="engine").first()
    except Exception as exc:
        return {"ok": False, "error": str(exc)}
    if beat is None:
        return {"ok": False, "error": "the engine has never ticked", "last_tick_age_seconds": None}
    age = (timezone.now() - beat.last_tick_at).total_seconds()
    return {
        "ok": age <= settings.ENGINE_STALE_SECONDS,
        "last_tick_age_seconds": round(age, 3),
        "last_tick_ms": round(beat.last_tick_ms, 3),
    }


def _broker() -> dict[str, object] | None:
    if settings.EMBEDDED_MODE:
        return None
    from oncall.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": str(exc)}


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, object] = {"database": _database(), "engine": _engine()}
    broker = _broker()
    if broker is not None:
        checks["broker"] = broker
    healthy = all(check["ok"] for check in checks.values() if isinstance(check, dict))
    mode = "embedded" if settings.EMBEDDED_MODE else "celery"
    return JsonResponse(
        {"status": "ok" if healthy else "unhealthy", "mode": mode, **checks},
        status=200 if healthy else 503,
    )
