"""GET /healthz: is the database, the broker, a worker and the face model there?"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.utils.log import log_response
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from attendance_site.celery import app


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:
        return {"ok": False, "reason": f"database unreachable: {_first_line(exc)}"}


def check_broker() -> dict:
    transport = settings.CELERY_BROKER_URL.split(":", 1)[0]
    try:
        with app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT)
        return {"ok": True, "transport": transport}
    except Exception as exc:
        return {"ok": False, "transport": transport, "reason": f"broker unreachable: {_first_line(exc)}"}


def check_workers() -> dict:
    from recognition.services import workers_alive

    since = timezone.now() - dt.timedelta(seconds=settings.WORKER_STALE_SECONDS)
    try:
        alive = workers_alive(since=since)
    except Exception as exc:
        return {"ok": False, "reason": f"cannot read worker heartbeats: {_first_line(exc)}"}
    if not alive:
        return {
            "ok": False,
            "reason": f"no Celery worker reported in the last {settings.WORKER_STALE_SECONDS} s; start one "
            "(make run starts them)",
        }
    ready = [w for w in alive if w["engine_ready"]]
    warming = sorted(w["hostname"] for w in alive if not w["engine_ready"])
    queues = sorted({q for w in ready for q in w["queues"].split(",") if q})
    result = {
        "ok": not warming,
        "count": len(alive),
        "workers": [w["hostname"] for w in ready],
        "queues": queues,
    }
    if warming:
        result["warming_up"] = warming
        result["reason"] = f"loading the face models: {', '.join(warming)}"
    return result


def check_model_weights() -> dict:
    try:
        from recognition import services

        status = services.weights_status()
    except Exception as exc:
        return {"ok": False, "reason": _first_line(exc)}
    return status


CHECKS = {
    "database": check_database,
    "broker": check_broker,
    "workers": check_workers,
    "model_weights": check_model_weights,
}


@never_cache
@require_GET
def healthz(request):
    results = {name: check() for name, check in CHECKS.items()}
    ok = all(result["ok"] for result in results.values())
    body = {"status": "ok" if ok else "unavailable", "checks": results}
    response = JsonResponse(body, status=200 if ok else 503)
    if not ok:
        # Django would log this 503 as an ERROR; while the workers start and load the face models it is
        # the expected answer (`make run` asks every second), so that is INFO, and an outage a WARNING.
        failing = sorted(name for name, result in results.items() if not result["ok"])
        log_response(
            "Not ready: %s: %s",
            ", ".join(failing),
            "; ".join(results[name].get("reason", "") for name in failing),
            response=response,
            request=request,
            level="info" if failing == ["workers"] else "warning",
        )
    return response


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
