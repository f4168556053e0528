"""Django settings, read from environment variables (see README "Configuration")."""

from __future__ import annotations

import re
import warnings
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from oncall.env import env_bool, env_hours, env_int, env_int_map, env_list, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent
# Local state of `make run`: the SQLite file, the generated secret key, the demo login.
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
# SECRET_KEY, else the file SECRET_KEY_FILE names (default var/secret_key, which `make run`
# writes): so `manage.py …` pasted from the README works after `make run` as it is.
SECRET_KEY_FILE = Path(env_str("SECRET_KEY_FILE", str(VAR_DIR / "secret_key")))
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY and SECRET_KEY_FILE.is_file():
    SECRET_KEY = SECRET_KEY_FILE.read_text().strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            f"SECRET_KEY must be set when DEBUG is off (or put one in {SECRET_KEY_FILE};"
            " make run generates var/secret_key)"
        )
    SECRET_KEY = "insecure-debug-only-key"  # noqa: S105 - only ever used with DEBUG on

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
PUBLIC_BASE_URL = env_url("PUBLIC_BASE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    # First: its admin/object_history.html shows the audit trail on every History page.
    "oncall.audit.apps.AuditConfig",
    "oncall.apps.OncallAdminConfig",  # django.contrib.admin with the project's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "django_celery_beat",
    "oncall.apps.ProjectConfig",  # the project package: commands, admin home, static
    "oncall.people.apps.PeopleConfig",  # label "oncall"
    "schedules.apps.SchedulesConfig",
    "paging.apps.PagingConfig",
    # One app per channel folder (transport, inbound views, templates); Twilio's keeps the
    # label "delivery" and paging.channels the label "bridges" (tables and migrations).
    "paging.channels.twilio.apps.TwilioConfig",
    "paging.channels.email.apps.EmailConfig",
    "paging.channels.links.apps.LinksConfig",
    "paging.channels.slack.apps.SlackConfig",
    "paging.channels.pagerduty.apps.PagerDutyConfig",
    "paging.channels.webpush.apps.WebPushConfig",
    "paging.channels.webhooks.apps.WebhooksConfig",
    "paging.channels.apps.ChannelsConfig",
    "paging.response.apps.ResponseConfig",  # label "response": roles, updates, status page
    "analytics.apps.AnalyticsConfig",
    "oncall.me.apps.MeConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # audit trail: the request (its user or API token) is the actor of what it changes.
    "oncall.audit.actors.AuditActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "oncall.security.csp.CSPMiddleware",
    "oncall.security.headers.SecurityHeadersMiddleware",
    # Last: turns a locked-out login (too many failures) into a 429 with Retry-After.
    "axes.middleware.AxesMiddleware",
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
# PostgreSQL: server-side parameter binding and prepared statements (see below).
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", True)
DATABASE_PREPARE_THRESHOLD = env_int("DATABASE_PREPARE_THRESHOLD", 5, minimum=0)
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
    if DATABASE_PREPARED_STATEMENTS:
        # Parameters bound by the server, and a statement run this many times on a
        # connection is prepared there: PostgreSQL stops parsing and planning the same
        # hot-path statements again on every request and tick (measured: about 1 ms less
        # PostgreSQL CPU per alert, bench cost_per_alert). Pooled connections keep them.
        DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = DATABASE_PREPARE_THRESHOLD
    if DATABASE_POOL:
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": DATABASE_POOL_MIN_SIZE,
            "max_size": DATABASE_POOL_MAX_SIZE,
            "timeout": DATABASE_POOL_TIMEOUT,
        }

# Axes first: it refuses a locked-out client before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Engineers' own pages (me/): everyone signs in there and lands on /me/ (staff too,
# with a link to the admin); DRF's /api-auth/login/ lands there as well.
LOGIN_URL = "/me/login/"
LOGIN_REDIRECT_URL = "/me/"
LOGOUT_REDIRECT_URL = "/me/login/"
# Sign-in links by e-mail (/me/login/): valid this long, and at most this many asked
# for one address within that time.
SIGNIN_LINK_MAX_AGE_SECONDS = env_int("SIGNIN_LINK_MAX_AGE_SECONDS", 15 * 60, minimum=60)
SIGNIN_LINK_PER_ADDRESS = env_int("SIGNIN_LINK_PER_ADDRESS", 3, minimum=1)

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
    # Tokens in URLs and configured secrets are masked in every line (README "Security").
    "filters": {"redact_secrets": {"()": "oncall.security.log_redact.RedactSecretsFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_secrets"]},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
}

# --- REST API -------------------------------------------------------------
# Larger API request bodies answer 400 (oncall/api/parsers.py).
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token failures count towards the per-address lock-out (oncall/security/).
        "oncall.security.token_auth.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "oncall.api.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    # One parser set for every API view: JSON with depth, size and number limits (400).
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "oncall.api.renderers.CspBrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "oncall.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["oncall.security.throttling.AuthenticatedApiThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_user": env_str("API_THROTTLE_RATE", "1200/min")},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "On-call and paging API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from this server (not a CDN), so /api/docs/ works under the CSP.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status" choice set: name each enum after its model.
    "ENUM_NAME_OVERRIDES": {
        "IncidentStatusEnum": "paging.models.Incident.Status",
        "SwapStatusEnum": "schedules.models.SwapRequest.Status",
        "MessageStatusEnum": "paging.models.Message.Status",
        "IncidentRoleEnum": "paging.response.models.IncidentRole.Role",
        "MembershipRoleEnum": "oncall.people.models.TeamMembership.Role",
        "StatusUpdateStateEnum": "paging.response.models.StatusUpdate.State",
    },
}

# --- Engine and Celery ----------------------------------------------------
# Unset broker = embedded mode: the engine loop runs inside the web process.
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL", schemes=("redis", "rediss", "amqp", "amqps", "memory")
)
EMBEDDED_MODE = CELERY_BROKER_URL == ""
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes every connection, and with a pool the whole pool, before
# and after each task in a prefork child. That raced the dispatcher's sender threads
# (PoolClosed on their next claim) and reopened PostgreSQL connections on every tick.
# Reusing keeps the child's pool; the engine returns its connection to the pool (and
# drops a broken one) after each tick step itself.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1_000_000_000, minimum=0)
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
# A kicked tick starts at least this long after the previous kicked tick started, so a
# stream of alerts costs one tick per window, not one per alert (paging/kick.py). 0: off.
ENGINE_KICK_WINDOW_MS = env_int("ENGINE_KICK_WINDOW_MS", 250, minimum=0)
if ENGINE_KICK_WINDOW_MS > 1000:
    raise ImproperlyConfigured(
        f"ENGINE_KICK_WINDOW_MS must be at most 1000, got {ENGINE_KICK_WINDOW_MS}"
    )
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
# A webhook event that occurred longer ago than this is refused (a replay).
PAGERDUTY_WEBHOOK_MAX_AGE_SECONDS = env_int("PAGERDUTY_WEBHOOK_MAX_AGE_SECONDS", 300, minimum=30)
# Web push (paging/channels/webpush/): off until a VAPID private key is set
# (`manage.py webpush_keys` makes one; the channel's app checks it at start-up).
WEBPUSH_VAPID_PRIVATE_KEY = env_str("WEBPUSH_VAPID_PRIVATE_KEY")
WEBPUSH_VAPID_SUBJECT = env_str("WEBPUSH_VAPID_SUBJECT")  # default mailto:DEFAULT_FROM_EMAIL
WEBPUSH_TIMEOUT_SECONDS = env_int("WEBPUSH_TIMEOUT_SECONDS", 10, minimum=1)
# How long a push service keeps a page for a device that is offline.
WEBPUSH_TTL_SECONDS = env_int("WEBPUSH_TTL_SECONDS", 3600, minimum=0)
# A CA bundle for the push services' https (default: requests', REQUESTS_CA_BUNDLE/certifi).
WEBPUSH_CA_FILE = env_str("WEBPUSH_CA_FILE")
# Outgoing webhooks (paging/channels/webhooks/): how long one POST may take.
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)

EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "oncall@localhost")
# Sign-in mail (password reset): SMTP when EMAIL_HOST is set, else printed to the
# console. Pages by e-mail use their own connection (paging/channels/email/transport.py).
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)

TWILIO_ENABLED = bool(TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER)
SLACK_ENABLED = bool(SLACK_BOT_TOKEN)
EMAIL_ENABLED = bool(EMAIL_HOST)

EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
# The backend pages by e-mail go through (paging/channels/email/): an SMTP backend that
# tells a lost answer after the whole message from an earlier failure.
DELIVERY_EMAIL_BACKEND = env_str(
    "DELIVERY_EMAIL_BACKEND", "paging.channels.email.backend.EmailBackend"
)
# The domain of pages' Message-IDs (unset: this host's name).
EMAIL_MESSAGE_ID_DOMAIN = env_str("EMAIL_MESSAGE_ID_DOMAIN")
TWILIO_TIMEOUT_SECONDS = env_int("TWILIO_TIMEOUT_SECONDS", 10, minimum=1)
PAGERDUTY_FORWARDING_ENABLED = env_bool("PAGERDUTY_FORWARDING_ENABLED", True)

# --- Paging knobs ----------------------------------------------------------
INBOUND_MAX_BODY_BYTES = env_int("INBOUND_MAX_BODY_BYTES", 512 * 1024, minimum=1024)
INBOUND_MAX_ALERTS_PER_MESSAGE = env_int("INBOUND_MAX_ALERTS_PER_MESSAGE", 1000, minimum=1)
# Amazon SNS: signing certificates and SubscribeURLs are fetched over https only, from
# hosts matching this regular expression (full match, host name without port).
SNS_CERT_HOST_PATTERN = env_str("SNS_CERT_HOST_PATTERN", r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")
try:
    re.compile(SNS_CERT_HOST_PATTERN)
except re.error as exc:
    message = f"SNS_CERT_HOST_PATTERN is not a regular expression: {exc}"
    raise ImproperlyConfigured(message) from exc
# CA bundle for those https fetches (unset = the system's trust store).
SNS_CA_FILE = env_str("SNS_CA_FILE")
# SNS retries a delivery for at most an hour: older messages are replays (+5 min of skew).
SNS_MAX_MESSAGE_AGE_SECONDS = env_int("SNS_MAX_MESSAGE_AGE_SECONDS", 3900, minimum=60)
# Change events shown on incidents of their service opened up to this long after them.
CHANGE_EVENTS_WINDOW_MINUTES = env_int("CHANGE_EVENTS_WINDOW_MINUTES", 60, minimum=0)
ACK_LINK_MAX_AGE_SECONDS = env_int("ACK_LINK_MAX_AGE_SECONDS", 86400, minimum=60)
SHIFT_REMINDER_MINUTES = env_int("SHIFT_REMINDER_MINUTES", 60, minimum=0)
# How often the tick step looks for shifts to remind of (0: on every tick).
SHIFT_REMINDER_SCAN_SECONDS = env_int("SHIFT_REMINDER_SCAN_SECONDS", 60, minimum=0)
# An SMS reply code stays bound to its incident this long after it was resolved (default:
# as long as the signed links in the same texts work), so a late reply never acts on
# a newer incident.
SMS_REPLY_CODE_REUSE_AFTER_SECONDS = env_int(
    "SMS_REPLY_CODE_REUSE_AFTER_SECONDS", ACK_LINK_MAX_AGE_SECONDS, minimum=60
)
SMS_ERROR_REPLY_LIMIT = env_int("SMS_ERROR_REPLY_LIMIT", 3, minimum=0)
SMS_ERROR_REPLY_WINDOW_SECONDS = env_int("SMS_ERROR_REPLY_WINDOW_SECONDS", 600, minimum=1)
# Pages per contact method per 15 minutes by kind, the excess bundled or held
# ("sms:5,voice:3"; a kind not named is not throttled; "none": nothing is). Unset: the
# channels' defaults (ChannelSpec.throttle_limit, oncall/channel_registry.py).
PAGING_THROTTLE_LIMITS = env_int_map("PAGING_THROTTLE_LIMITS", None, minimum=1)
# Low-urgency pages of services that ask for it wait for these hours (Mon-Fri, the
# engineer's zone): START-END.
PAGING_BUSINESS_HOURS = env_hours("PAGING_BUSINESS_HOURS", (8, 18))
# GET /healthz shows its checks to staff and to "Authorization: Bearer <token>" only.
HEALTHZ_TOKEN = env_str("HEALTHZ_TOKEN")
# When set, GET /metrics needs "Authorization: Bearer <token>".
ANALYTICS_METRICS_TOKEN = env_str("ANALYTICS_METRICS_TOKEN")
# PostgreSQL work_mem for analytics queries, so percentile sorts stay in memory.
ANALYTICS_PG_WORK_MEM = env_str("ANALYTICS_PG_WORK_MEM", "32MB")
if not re.fullmatch(r"\d+(kB|MB|GB)", ANALYTICS_PG_WORK_MEM):
    raise ImproperlyConfigured(
        f"ANALYTICS_PG_WORK_MEM must look like 32MB (kB, MB or GB), got {ANALYTICS_PG_WORK_MEM!r}"
    )

# --- Security (README "Security") -------------------------------------------
# Behind HTTPS: secure cookies, HSTS and a redirect of plain HTTP. Behind a proxy that
# terminates TLS, set SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO so Django knows.
SECURE_COOKIES = env_bool("SECURE_COOKIES", False)
SESSION_COOKIE_HTTPONLY = True
if SECURE_COOKIES:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # /healthz stays reachable over plain HTTP for load balancers' probes.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
_proxy_header = env_str("SECURE_PROXY_SSL_HEADER")
if _proxy_header:
    SECURE_PROXY_SSL_HEADER = (_proxy_header, "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): this origin only. Images may also be data: URIs
# (the admin's and Swagger UI's icons are inline SVG in their style sheets).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# No report-only policy: the one above is enforced (declared for oncall/security/csp.py).
CONTENT_SECURITY_POLICY_REPORT_ONLY: dict[str, object] = {}
# Powerful browser features this service never uses.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(),"
    " microphone=(), payment=(), usb=()"
)

# Login lock-out (django-axes, stored in the database so every worker sees it): the
# LOGIN_FAILURE_LIMIT-th failure from one address, or for one username, within
# LOGIN_LOCKOUT_MINUTES answers 429 with Retry-After, and so does every attempt until
# that long after it. Failed API tokens count against the address too.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = "oncall.security.lockout.lockout_parameters"
AXES_LOCKOUT_CALLABLE = "oncall.security.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
# The lock-out ends LOGIN_LOCKOUT_MINUTES after the failure that caused it; refused
# tries do not extend it (else Retry-After would never come true under attack).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = False
# The client address: REMOTE_ADDR, or behind a proxy the header it sets (e.g.
# HTTP_X_FORWARDED_FOR: its last entry, the one the proxy itself appended).
CLIENT_IP_HEADER = env_str("CLIENT_IP_HEADER")
AXES_CLIENT_IP_CALLABLE = "oncall.security.lockout.client_address"

# The cache holds the API throttle's counters: shared by all processes when it is
# Redis (CACHE_URL, else the broker's Redis), per process in embedded mode.
_cache_url = env_url("CACHE_URL", schemes=("redis", "rediss"))
if not _cache_url and CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    _cache_url = CELERY_BROKER_URL
if _cache_url:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url,
            "KEY_PREFIX": "oncall",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
