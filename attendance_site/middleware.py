"""Turn a database or broker outage into a clear 503 instead of a server error."""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

OUTAGES = (DatabaseError, BrokerError, RedisConnectionError, RedisTimeoutError)


class ServiceUnavailableMiddleware:
    """Answer 503 with a reason (JSON under /api/) when a backing service is down."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OUTAGES) or not _is_outage(exception):
            return None
        service = "database" if isinstance(exception, DatabaseError) else "message broker"
        log.error("503 for %s: the %s is unavailable: %s", request.path, service, exception)
        reason = f"The {service} is unavailable; try again in a moment."
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": reason, "code": "service_unavailable"}, status=503)
        else:
            response = HttpResponse(reason, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = "5"
        return response


def _is_outage(exception: Exception) -> bool:
    """Tell a lost connection from a programming error (a bad query is a bug, not an outage)."""
    from django.db import InterfaceError, OperationalError

    if isinstance(exception, DatabaseError):
        return isinstance(exception, OperationalError | InterfaceError)
    return True
