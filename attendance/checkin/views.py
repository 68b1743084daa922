"""Pages of check-in: the kiosk screen and kiosk registration."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from attendance.checkin import outcomes, services


@require_GET
def kiosk_page(request):
    """The full-screen kiosk: needs no login; the browser holds the kiosk token."""
    config = {
        "checkinUrl": reverse("checkin-create"),
        "pinUrl": reverse("checkin-pin"),
        "registerUrl": reverse("kiosk-register"),
        "busyTimeoutMs": int(settings.KIOSK_BUSY_TIMEOUT_SECONDS * 1000),
        # A challenge answer is a burst of frames: the worker needs longer than for one frame.
        "livenessTimeoutMs": int(
            (settings.KIOSK_BUSY_TIMEOUT_SECONDS + settings.LIVENESS_MAX_PENDING_SECONDS) * 1000
        ),
        **outcomes.kiosk_table(),
    }
    return render(request, "kiosk/kiosk.html", {"config": config})


class KioskRegisterForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="For example: Front door tablet")
    location = forms.CharField(max_length=200, required=False)


@never_cache
@login_required
@permission_required("attendance.add_kiosk", raise_exception=True)
@require_http_methods(["GET", "POST"])
def kiosk_register(request):
    """Register this browser as a kiosk: the token is shown once and kept in the browser.

    Registering logs the HR user out of this browser: a kiosk must not stay an HR browser.
    """
    form = KioskRegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        kiosk, token = services.kiosk_register(
            name=form.cleaned_data["name"], location=form.cleaned_data["location"], created_by=request.user
        )
        logout(request)
        return render(
            request,
            "kiosk/registered.html",
            {"kiosk": kiosk, "token": token, "kiosk_url": reverse("kiosk")},
        )
    return render(request, "kiosk/register.html", {"form": form})
