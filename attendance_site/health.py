"""GET /healthz: is the database, the broker, a live worker on every queue and the face model there?

Anyone may ask (load balancers, `make run`), but only staff see the details: an anonymous caller gets
"ok" or "unavailable" and the names of the failing checks, never paths, hosts, checksums or the
database's address (issue 13, finding 16).
"""

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
    """Every queue needs a live consumer whose models are loaded: a stopped training worker is an outage
    even while the recognition worker beats (issue 13, finding 4)."""
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
    consumed = {q for w in alive for q in w["queues"].split(",") if q}
    missing = [q for q in settings.HEALTHZ_REQUIRED_QUEUES if q not in consumed]
    result = {
        "ok": not warming and not missing,
        "count": len(alive),
        "workers": [w["hostname"] for w in ready],
        "queues": queues,
    }
    reasons = []
    if missing:
        result["missing_queues"] = missing
        reasons.append(
            f"no live worker consumes the {', '.join(missing)} queue{'s' if len(missing) > 1 else ''}; "
            "start one with -Q " + ",".join(missing)
        )
    if warming:
        result["warming_up"] = warming
        reasons.append(f"loading the face models: {', '.join(warming)}")
    if reasons:
        result["reason"] = "; ".join(reasons)
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


def run_checks() -> dict[str, dict]:
    """Run every check and return {name: result}, with details (for staff and `make run`)."""
    return {name: check() for name, check in CHECKS.items()}


@never_cache
@require_GET
def healthz(request):
    """Answer 200 when every check passes, else 503; details only for signed-in staff."""
    results = run_checks()
    ok = all(result["ok"] for result in results.values())
    failing = sorted(name for name, result in results.items() if not result["ok"])
    body = {"status": "ok" if ok else "unavailable"}
    if request.user.is_authenticated and request.user.is_staff:
        body["checks"] = results
    else:
        # Names only: the reasons carry hosts, paths and the database's address.
        body["failing"] = failing
    response = JsonResponse(body, status=200 if ok else 503)
    if not ok:
        # Django would log this 503 as an ERROR; while the workers start and load the face models it is
        # the expected answer (`make run` asks every second), so that is INFO, and an outage a WARNING.
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
