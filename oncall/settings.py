"""Django settings, read from environment variables (see README "Configuration")."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from oncall.env import env_bool, env_int, env_list, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (make run generates one in var/secret_key)"
        )
    SECRET_KEY = "insecure-debug-only-key"  # noqa: S105 - only ever used with DEBUG on

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
PUBLIC_BASE_URL = env_url("PUBLIC_BASE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_celery_beat",
    "oncall.apps.OncallConfig",
    "schedules.apps.SchedulesConfig",
    "paging.apps.PagingConfig",
    "delivery.apps.DeliveryConfig",
    "bridges.apps.BridgesConfig",
    "analytics.apps.AnalyticsConfig",
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
    # outages: a database error in a view is a 503 with Retry-After, not a 500.
    "oncall.db_unavailable.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "oncall.urls"
WSGI_APPLICATION = "oncall.wsgi.application"

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

_default_db = f"sqlite:///{VAR_DIR / 'oncall.sqlite3'}"
_database_url = env_str("DATABASE_URL", _default_db)
try:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
except Exception as exc:  # dj-database-url raises several types for bad URLs
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded mode runs web and engine threads against one file: wait for locks
    # instead of failing with "database is locked", and take the write lock up front.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0

# --- Dispatch: how the outbox sends (see README "How pages leave") ------------
# Sends in flight at once per process (a thread pool); 1 sends inline, one by one.
DISPATCH_CONCURRENCY = env_int("DISPATCH_CONCURRENCY", 8, minimum=1)
# At most this many of them to one provider (Twilio, Slack, SMTP, PagerDuty…), so a
# slow or hanging provider holds only its own share of the pool.
DISPATCH_PROVIDER_CONCURRENCY = env_int("DISPATCH_PROVIDER_CONCURRENCY", 4, minimum=1)
# A claimed row's lease: renewed while its worker lives; a dead worker's rows are
# claimed again this long after its last renewal.
DISPATCH_LEASE_SECONDS = env_int("DISPATCH_LEASE_SECONDS", 30, minimum=2)
# Circuit breaker per provider: after this many transient failures in a row, its rows
# wait DISPATCH_BREAKER_COOLDOWN_SECONDS (or the provider's Retry-After), then one try.
DISPATCH_BREAKER_FAILURES = env_int("DISPATCH_BREAKER_FAILURES", 5, minimum=1)
DISPATCH_BREAKER_COOLDOWN_SECONDS = env_int("DISPATCH_BREAKER_COOLDOWN_SECONDS", 30, minimum=1)

# --- embedded-server: bounded PostgreSQL connections -----------------------
# Each process (gunicorn worker, celery worker, the embedded server) keeps a pool of at
# most DATABASE_POOL_MAX_SIZE connections that its threads share: the number of server
# connections never grows with the number of requests in flight. A thread that finds
# the pool exhausted waits DATABASE_POOL_TIMEOUT seconds, then gets an OperationalError
# (a 503 with Retry-After on inbound and API paths). Measured against connecting per
# request (CONN_MAX_AGE=0, DATABASE_POOL=false): see README "Embedded server".
DATABASE_POOL = env_bool("DATABASE_POOL", True)
DATABASE_POOL_MIN_SIZE = env_int("DATABASE_POOL_MIN_SIZE", 1, minimum=0)
# Threads of the embedded server (`manage.py oncall_run`, waitress): requests served at once.
EMBEDDED_THREADS = env_int("EMBEDDED_THREADS", 6, minimum=1)
# Enough for every thread of a process to hold one at once: the web threads (or a
# celery task), the engine, DISPATCH_CONCURRENCY senders and the lease renewer.
DATABASE_POOL_MAX_SIZE = env_int(
    "DATABASE_POOL_MAX_SIZE", EMBEDDED_THREADS + DISPATCH_CONCURRENCY + 2, minimum=1
)
DATABASE_POOL_TIMEOUT = env_int("DATABASE_POOL_TIMEOUT", 10, minimum=1)
if DATABASE_POOL_MIN_SIZE > DATABASE_POOL_MAX_SIZE:
    raise ImproperlyConfigured(
        f"DATABASE_POOL_MIN_SIZE ({DATABASE_POOL_MIN_SIZE}) must not exceed"
        f" DATABASE_POOL_MAX_SIZE ({DATABASE_POOL_MAX_SIZE})"
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A pooled connection goes back to the pool at the end of each request or task;
    # without the pool, one connection per request (no idle connections left behind by
    # threads that are gone).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    if DATABASE_POOL:
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": DATABASE_POOL_MIN_SIZE,
            "max_size": DATABASE_POOL_MAX_SIZE,
            "timeout": DATABASE_POOL_TIMEOUT,
        }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
WHITENOISE_USE_FINDERS = True  # serve app static files without a collectstatic step
# Without collectstatic, WhiteNoise warns that STATIC_ROOT is missing on every start;
# with finders on, that is expected, not a fault.
warnings.filterwarnings("ignore", message="No directory at: ", category=UserWarning)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
}

# --- REST API -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "On-call and paging API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Engine and Celery ----------------------------------------------------
# Unset broker = embedded mode: the engine loop runs inside the web process.
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL", schemes=("redis", "rediss", "amqp", "amqps", "memory")
)
EMBEDDED_MODE = CELERY_BROKER_URL == ""
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# --- outages: the broker may vanish at any time --------------------------------
# Worker and beat retry the broker forever (a restarted Redis is found again; systemd
# restarts whatever still exits, deploy/). Bounded socket waits, so that a kick to a
# broker whose host does not answer cannot hold a request (paging/kick.py) and a dead
# connection is noticed; the BRPOP of the worker waits 1 s, well below socket_timeout.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 2}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
ENGINE_TICK_SECONDS = env_int("ENGINE_TICK_SECONDS", 2, minimum=1)
# At most one pending kick per worker queue (Redis broker; paging/kick.py). False: one
# kick per commit, the behaviour before (kept as the benchmarks' baseline).
ENGINE_KICK_COALESCE = env_bool("ENGINE_KICK_COALESCE", True)
# /healthz reports 503 when the engine has not ticked for this long.
ENGINE_STALE_SECONDS = env_int("ENGINE_STALE_SECONDS", 60, minimum=5)

# --- Providers: each is off until its credentials are set ------------------
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
TWILIO_FROM_NUMBER = env_str("TWILIO_FROM_NUMBER")
TWILIO_BASE_URL = env_url("TWILIO_BASE_URL", "https://api.twilio.com")
SLACK_BOT_TOKEN = env_str("SLACK_BOT_TOKEN")
SLACK_SIGNING_SECRET = env_str("SLACK_SIGNING_SECRET")
SLACK_BASE_URL = env_url("SLACK_BASE_URL", "https://slack.com/api")
PAGERDUTY_EVENTS_URL = env_url("PAGERDUTY_EVENTS_URL", "https://events.pagerduty.com")
PAGERDUTY_WEBHOOK_SECRET = env_str("PAGERDUTY_WEBHOOK_SECRET")

EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "oncall@localhost")
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"

TWILIO_ENABLED = bool(TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER)
SLACK_ENABLED = bool(SLACK_BOT_TOKEN)
EMAIL_ENABLED = bool(EMAIL_HOST)

EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
TWILIO_TIMEOUT_SECONDS = env_int("TWILIO_TIMEOUT_SECONDS", 10, minimum=1)
PAGERDUTY_FORWARDING_ENABLED = env_bool("PAGERDUTY_FORWARDING_ENABLED", True)

# --- Paging knobs ----------------------------------------------------------
INBOUND_MAX_BODY_BYTES = env_int("INBOUND_MAX_BODY_BYTES", 512 * 1024, minimum=1024)
INBOUND_MAX_ALERTS_PER_MESSAGE = env_int("INBOUND_MAX_ALERTS_PER_MESSAGE", 1000, minimum=1)
ACK_LINK_MAX_AGE_SECONDS = env_int("ACK_LINK_MAX_AGE_SECONDS", 86400, minimum=60)
SHIFT_REMINDER_MINUTES = env_int("SHIFT_REMINDER_MINUTES", 60, minimum=0)
SMS_ERROR_REPLY_LIMIT = env_int("SMS_ERROR_REPLY_LIMIT", 3, minimum=0)
SMS_ERROR_REPLY_WINDOW_SECONDS = env_int("SMS_ERROR_REPLY_WINDOW_SECONDS", 600, minimum=1)
# When set, GET /metrics needs "Authorization: Bearer <token>".
ANALYTICS_METRICS_TOKEN = env_str("ANALYTICS_METRICS_TOKEN")
# PostgreSQL work_mem for analytics queries, so percentile sorts stay in memory.
ANALYTICS_PG_WORK_MEM = env_str("ANALYTICS_PG_WORK_MEM", "32MB")
if not re.fullmatch(r"\d+(kB|MB|GB)", ANALYTICS_PG_WORK_MEM):
    raise ImproperlyConfigured(
        f"ANALYTICS_PG_WORK_MEM must look like 32MB (kB, MB or GB), got {ANALYTICS_PG_WORK_MEM!r}"
    )

if env_bool("SECURE_COOKIES", False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
