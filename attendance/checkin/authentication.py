"""Kiosk token authentication for the check-in API: `Authorization: Kiosk <token>`."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from attendance.models import Kiosk

KEYWORD = "Kiosk"


class KioskTokenAuthentication(authentication.BaseAuthentication):
    """Authenticate a registered kiosk by its secret token; `request.auth` becomes the Kiosk.

    No token: not this scheme (the permission then answers 401). A wrong token: 401. A revoked
    kiosk: 403, so the page can tell the two apart.
    """

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].decode(errors="replace") != KEYWORD:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Malformed kiosk token header: use 'Kiosk <token>'.")
        from attendance.checkin.services import kiosk_token_hash

        token = parts[1].decode(errors="replace")
        kiosk = Kiosk.objects.filter(token_hash=kiosk_token_hash(token)).first()
        if kiosk is None:
            raise exceptions.AuthenticationFailed("Unknown kiosk token.")
        if not kiosk.is_active:
            raise exceptions.PermissionDenied("This kiosk has been revoked; ask HR to register it again.")
        return AnonymousUser(), kiosk

    def authenticate_header(self, request) -> str:
        return KEYWORD


class IsKiosk(permissions.BasePermission):
    message = "A kiosk token is required: register this browser as a kiosk at /kiosk/register/."

    def has_permission(self, request, view) -> bool:
        if not isinstance(request.auth, Kiosk):
            raise exceptions.NotAuthenticated(self.message)  # 401 with the reason, not DRF's generic one
        return True


class KioskTokenScheme(OpenApiAuthenticationExtension):
    target_class = "attendance.checkin.authentication.KioskTokenAuthentication"
    name = "kioskToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Kiosk <token>`: the token given once when the kiosk was registered.",
        }
