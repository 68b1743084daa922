"""Per-kiosk rate limits for the check-in API (rates from settings, read at request time)."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from attendance.models import Kiosk


class _KioskThrottle(SimpleRateThrottle):
    setting_name = ""

    def get_rate(self) -> str:
        return getattr(settings, self.setting_name)

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, Kiosk):
            return None  # unauthenticated requests are refused before they cost anything
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class KioskFrameThrottle(_KioskThrottle):
    """Frames a kiosk may post (KIOSK_FRAME_THROTTLE, e.g. "5/s")."""

    scope = "kiosk_frames"
    setting_name = "KIOSK_FRAME_THROTTLE"


class KioskPollThrottle(_KioskThrottle):
    """Result polls a kiosk may make (KIOSK_POLL_THROTTLE)."""

    scope = "kiosk_polls"
    setting_name = "KIOSK_POLL_THROTTLE"
