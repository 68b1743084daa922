"""The administrator account that a first run needs."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model


@dataclass(frozen=True)
class AdminAccount:
    """What admin_ensure did: `password` is set only when it generated one (to be shown once)."""

    username: str
    created: bool
    password: str | None = None


def admin_ensure(*, username: str = "", password: str = "", email: str = "") -> AdminAccount:
    """Create a superuser unless one exists; never change an existing account.

    Without a password one is generated and returned, so that the caller can show it this once.
    """
    User = get_user_model()
    existing = User.objects.filter(is_superuser=True).order_by("pk").first()
    if existing is not None:
        return AdminAccount(username=existing.get_username(), created=False)
    username = username or "admin"
    generated = secrets.token_urlsafe(12) if not password else None
    User.objects.create_superuser(username=username, email=email, password=password or generated)
    return AdminAccount(username=username, created=True, password=generated)
