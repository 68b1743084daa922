"""What a locked-out login sees (django-axes): on every door, what happened and what to do.

django-axes counts failed logins on the site's /login/, the admin's and the report API's HTTP Basic,
all of which go through django.contrib.auth.authenticate; this is its AXES_LOCKOUT_CALLABLE.
"""

from __future__ import annotations

import math

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def lockout_message() -> str:
    """Return the sentence a locked-out user reads: why, for how long, and how to get back in."""
    minutes = math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    return (
        f"Too many failed logins: this account is locked for {minutes} minutes from your address "
        f"after {settings.AXES_FAILURE_LIMIT} wrong passwords. Try again later, or ask an administrator "
        "to unlock it (admin: Axes, Access attempts: delete the row)."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """Answer 429 with the lockout message: JSON for the API, a page for people."""
    message = lockout_message()
    status = settings.AXES_HTTP_RESPONSE_CODE
    if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"detail": message}, status=status)
    return render(request, "registration/locked_out.html", {"message": message}, status=status)


def _flag_the_django_request(sender, request=None, **_kwargs) -> None:
    """Carry django-axes' lockout flag from DRF's Request to the HttpRequest the middleware sees.

    DRF's BasicAuthentication hands its own Request to authenticate(); axes marks that one, so
    without this the API would answer a bare 403 "Invalid username/password" instead of the lockout.
    """
    django_request = getattr(request, "_request", None)
    if django_request is not None:
        django_request.axes_locked_out = True
        django_request.axes_credentials = getattr(request, "axes_credentials", None)


def connect() -> None:
    from axes.signals import user_locked_out

    user_locked_out.connect(_flag_the_django_request, dispatch_uid="lockout-drf-request")
