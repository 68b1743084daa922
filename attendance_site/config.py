"""Read the site's configuration from the environment, with one-line errors for bad values.

Kept apart from settings.py so that manage.py, the Celery app and tests can report a
configuration mistake as one sentence instead of a traceback.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured


class ConfigurationError(ImproperlyConfigured):
    """A setting from the environment is missing or wrong; the message is one line."""


DATABASE_SCHEMES = {"postgres", "postgresql", "pgsql", "psql", "sqlite"}
BROKER_SCHEMES = {"redis", "rediss", "redis+socket", "memory"}


def database_config(env: environ.Env, default: str) -> dict:
    """Return Django's DATABASES['default'] from DATABASE_URL (unset or empty: `default`).

    Unknown schemes are refused in one line.
    """
    url = env.str("DATABASE_URL", default="") or default
    scheme = urlsplit(url).scheme
    if scheme not in DATABASE_SCHEMES:
        raise ConfigurationError(
            f"DATABASE_URL={_redact(url)!s} is not a PostgreSQL or SQLite URL "
            "(expected postgres://USER@HOST:PORT/NAME or sqlite:////absolute/path.sqlite3)"
        )
    try:
        config = env.db_url_config(url)
    except Exception as exc:  # django-environ raises several types for malformed URLs
        raise ConfigurationError(f"DATABASE_URL={_redact(url)} cannot be parsed: {exc}") from exc
    if scheme != "sqlite" and not config.get("NAME"):
        raise ConfigurationError(f"DATABASE_URL={_redact(url)} names no database (add /NAME at the end)")
    return config


def broker_url(env: environ.Env, default: str) -> str:
    """Return CELERY_BROKER_URL (unset or empty: `default`), refusing schemes this project does not run on."""
    url = env.str("CELERY_BROKER_URL", default="") or default
    scheme = urlsplit(url).scheme
    if scheme not in BROKER_SCHEMES:
        raise ConfigurationError(
            f"CELERY_BROKER_URL={_redact(url)} is not supported "
            "(expected redis://HOST:PORT/DB, or unset for the embedded broker that `make run` starts)"
        )
    return url


def embedded_broker_url(socket_path: Path) -> str:
    """Return the broker URL of the Valkey server `make run` starts on a unix socket under var/."""
    return f"redis+socket://{socket_path}"


def socket_cache(broker: str) -> dict:
    """Return Django's CACHES['default'] on the Redis server of a redis+socket:// broker URL.

    Database 1: the broker's queues are in database 0, and clearing the cache must never empty them.
    """
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"unix://{urlsplit(broker).path}?db=1",
    }


def secret_key(env: environ.Env, *, production: bool, key_file: Path) -> str:
    """Return SECRET_KEY: required in production, generated once and kept in var/ elsewhere."""
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    if production:
        raise ConfigurationError(
            "SECRET_KEY is not set: production (DJANGO_ENV=production with DEBUG off) refuses to start "
            "without it; set SECRET_KEY to a long random string"
        )
    if key_file.exists():
        return key_file.read_text().strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
