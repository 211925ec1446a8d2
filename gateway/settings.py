"""Settings for the gateway, read from the environment (12-factor).

Every value has a default that works for ``make run`` on one machine. With ``DEBUG`` off the
service refuses to start while a secret still has its development default, so a forgotten
variable in production fails loudly instead of signing tokens with a published key.
"""

from __future__ import annotations

import base64
import importlib.util
import logging
import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from gateway import logs as gateway_logs

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# `make run` writes its development values (DEBUG on, its database, Redis and ports) to .env, so
# manage.py works in a new shell without exporting anything. Variables set in the environment
# always win over the file; production sets everything there and has no .env.
ENV_FILE = Path(os.environ.get("ENV_FILE") or BASE_DIR / ".env")
if ENV_FILE.is_file():
    environ.Env.read_env(ENV_FILE)

DEV_SECRET_KEY = "dev-only-secret-key-change-me"  # noqa: S105 - refused when DEBUG is off
DEV_JWT_SIGNING_KEY = "dev-only-jwt-signing-key-change-me"
DEV_CALLBACK_KEY = "dev-only-callback-signing-key-change-me"
DEV_FIELD_ENCRYPTION_KEY = base64.urlsafe_b64encode(b"dev-only-field-encryption-key-00").decode()
MIN_SIGNING_KEY_BYTES = 32  # HS256 and HMAC keys shorter than the hash output weaken them

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", default=DEV_JWT_SIGNING_KEY)
JWT_ISSUER = env.str("JWT_ISSUER", default="omnichannel-gateway")
JWT_AUDIENCE = env.str("JWT_AUDIENCE", default="chat-api")
JWT_LIFETIME_SECONDS = env.int("JWT_LIFETIME_SECONDS", default=3600)

# Mitto SMS has no callback signature: each message carries a signed token in its callback URL.
# Several keys per purpose allow rotation: the first signs, every one verifies.
MITTO_DLR_SIGNING_KEYS = env.list("MITTO_DLR_SIGNING_KEYS", default=[DEV_CALLBACK_KEY + "-dlr"])
MITTO_INBOUND_SIGNING_KEYS = env.list("MITTO_INBOUND_SIGNING_KEYS", default=[DEV_CALLBACK_KEY + "-inbound"])
CALLBACK_TOKEN_LIFETIME_SECONDS = env.int("CALLBACK_TOKEN_LIFETIME_SECONDS", default=2 * 24 * 3600)

# Provider credentials and webhook signing secrets are encrypted at rest (gateway/encryption.py):
# the first key encrypts, all decrypt; rotate with `manage.py reencrypt_secrets`.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[DEV_FIELD_ENCRYPTION_KEY])

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

DATABASES = {"default": env.db_url("DATABASE_URL", default="postgres://gateway:gateway@127.0.0.1:25432/gateway")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Fail fast when PostgreSQL is unreachable (the web then answers 503) instead of hanging a thread.
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=5))
# Retry-After (seconds) of the 503 answered while the database is unavailable.
DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS = env.int("DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS", default=5)
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default=f"test_{DATABASES['default']['NAME']}")}

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:26379/0")

def _check_key_material() -> None:
    """Refuse to start with keys that cannot protect anything, whatever DEBUG says."""
    from cryptography.fernet import Fernet

    short = [
        name
        for name, keys in (
            ("JWT_SIGNING_KEY", [JWT_SIGNING_KEY]),
            ("MITTO_DLR_SIGNING_KEYS", MITTO_DLR_SIGNING_KEYS),
            ("MITTO_INBOUND_SIGNING_KEYS", MITTO_INBOUND_SIGNING_KEYS),
        )
        if any(len(key.encode()) < MIN_SIGNING_KEY_BYTES for key in keys)
    ]
    if short:
        raise ImproperlyConfigured(
            f"These signing keys are shorter than {MIN_SIGNING_KEY_BYTES} bytes: {', '.join(short)}."
        )
    if not FIELD_ENCRYPTION_KEYS:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must hold at least one key.")
    for position, key in enumerate(FIELD_ENCRYPTION_KEYS, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS entry {position} is not a Fernet key (32 url-safe base64-encoded bytes)."
            ) from None


_check_key_material()

# HTTPS hardening (`manage.py check --deploy` is clean with DEBUG off). Behind a TLS-terminating
# proxy set SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https; SECURE_SSL_REDIRECT=false only
# where nothing but local HTTP reaches the gateway (the benchmark's own stack).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^livez$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) if len(_proxy_ssl_header) == 2 else None

if not DEBUG:
    _defaults = {
        "SECRET_KEY": SECRET_KEY == DEV_SECRET_KEY,
        "JWT_SIGNING_KEY": JWT_SIGNING_KEY == DEV_JWT_SIGNING_KEY,
        "MITTO_DLR_SIGNING_KEYS": any(k.startswith(DEV_CALLBACK_KEY) for k in MITTO_DLR_SIGNING_KEYS),
        "MITTO_INBOUND_SIGNING_KEYS": any(k.startswith(DEV_CALLBACK_KEY) for k in MITTO_INBOUND_SIGNING_KEYS),
        "FIELD_ENCRYPTION_KEYS": DEV_FIELD_ENCRYPTION_KEY in FIELD_ENCRYPTION_KEYS,
    }
    _still_default = sorted(name for name, is_default in _defaults.items() if is_default)
    if _still_default:
        raise ImproperlyConfigured(
            "DEBUG is off but these secrets still have their development defaults: "
            + ", ".join(_still_default)
            + ". Set them in the environment."
        )
    if JWT_SIGNING_KEY == SECRET_KEY:
        raise ImproperlyConfigured("JWT_SIGNING_KEY must differ from SECRET_KEY.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts_app",
    "channels_app",
    "webhooks_app",
]
# The provider sandbox (top-level package ``sandbox``) is a development tool: a checkout has it, the
# production image does not, so its commands exist exactly where the package does.
if importlib.util.find_spec("sandbox") is not None:
    INSTALLED_APPS.append("sandbox")

MIDDLEWARE = [
    "gateway.request_context.RequestContextMiddleware",
    "gateway.body_limit.RequestBodyLimitMiddleware",
    "gateway.middleware.CaseInsensitiveApiPathMiddleware",
    "gateway.middleware.NulQueryRefusingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (admin CSS, Swagger UI) are served by the app itself in every mode.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so its process_exception sees a view's database error first.
    "gateway.database_outage.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "gateway.urls"
WSGI_APPLICATION = "gateway.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

AUTH_USER_MODEL = "accounts_app.Customer"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Password checks (API login, changePassword, admin login) are counted before Argon2 runs, per
# client address and per account (accounts_app/login_throttle.py): after LOGIN_MAX_FAILURES
# attempts an account's next attempts wait a doubling delay instead of a fixed lock-out.
LOGIN_MAX_FAILURES = env.int("LOGIN_MAX_FAILURES", default=5)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=900)
LOGIN_BACKOFF_BASE_SECONDS = env.float("LOGIN_BACKOFF_BASE_SECONDS", default=2.0)
LOGIN_BACKOFF_MAX_SECONDS = env.float("LOGIN_BACKOFF_MAX_SECONDS", default=300.0)
LOGIN_IP_MAX_ATTEMPTS = env.int("LOGIN_IP_MAX_ATTEMPTS", default=30)
LOGIN_IP_WINDOW_SECONDS = env.int("LOGIN_IP_WINDOW_SECONDS", default=300)
# Behind a reverse proxy: the header it sets with the client address (its last entry is used).
CLIENT_IP_HEADER = env.str("CLIENT_IP_HEADER", default="")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves /static/ under gunicorn as well as runserver. Hashed, compressed files come
# from ``collectstatic`` (the Dockerfile and ``make run`` run it); without a manifest (tests, a
# fresh checkout) WhiteNoise finds the files in the apps directly, so nothing has to be built first.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "gateway.staticfiles.GatewayStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Request bodies (gateway/body_limit.py): small everywhere, large only for sendbulk.
MAX_REQUEST_BYTES = env.int("MAX_REQUEST_BYTES", default=64 * 1024)
SENDBULK_MAX_REQUEST_BYTES = env.int("SENDBULK_MAX_REQUEST_BYTES", default=32 * 1024 * 1024)
CALLBACK_MAX_REQUEST_BYTES = env.int("CALLBACK_MAX_REQUEST_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(MAX_REQUEST_BYTES, SENDBULK_MAX_REQUEST_BYTES, CALLBACK_MAX_REQUEST_BYTES)

# Per-customer API rate (accounts_app/api_rate.py); a customer's api_rate_per_second wins; 0 is off.
API_RATE_PER_SECOND = env.float("API_RATE_PER_SECOND", default=500.0)
API_RATE_BURST_SECONDS = env.float("API_RATE_BURST_SECONDS", default=2.0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts_app.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["gateway.parsers.BoundedJSONParser"],
    "EXCEPTION_HANDLER": "gateway.problems.problem_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["accounts_app.api_rate.CustomerRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "gateway.openapi.GatewayAutoSchema",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Omnichannel Messaging Gateway",
    "DESCRIPTION": (
        "Chat API compatible gateway for SMS (Mitto), WhatsApp, Viber, Google Business Messages "
        "and Telegram. Each operation is listed once, at the guide's spelling. Aliases served by the same "
        "handlers: any letter case; singular and plural (`/api/v1/messages/send`, `/api/v1/Message/sendbulk`, "
        "`/api/v1/Message?id=`); every path under `/api/v1/` also under `/api/v1.1/` and the reverse; "
        "login also at `/v1/Customers/login`. Every error is `application/problem+json` (RFC 7807)."
    ),
    "VERSION": "1.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "APPEND_COMPONENTS": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
    },
    "SECURITY": [{"bearerAuth": []}],
    # Swagger UI from the pinned copy in drf-spectacular-sidecar, served by the app: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # validatorUrl off: Swagger UI would otherwise send the schema's URL to swagger.io for a badge.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Schema-quality notes (operation id suffixes, APIViews without serializer_class) are not
    # deployment problems; keeping them out of `check --deploy` keeps its security findings visible.
    "ENABLE_DJANGO_DEPLOY_CHECK": False,
    "OAS_VERSION": "3.1.0",
    "ENUM_NAME_OVERRIDES": {"DeliveryStatusEnum": "channels_app.status.Status.CHOICES"},
}

# Providers. A traffic account's own base URL overrides these (sandbox, regional endpoints).
PROVIDER_BASE_URLS = {
    "sms": env.str("MITTO_BASE_URL", default="https://rest.mittoapi.net"),
    "whatsapp": env.str("WHATSAPP_BASE_URL", default="https://graph.facebook.com"),
    "viber": env.str("VIBER_BASE_URL", default="https://chatapi.viber.com"),
    "gbm": env.str("GBM_BASE_URL", default="https://businessmessages.googleapis.com"),
    "telegram": env.str("TELEGRAM_BASE_URL", default="https://api.telegram.org"),
}
SANDBOX_URL = env.str("SANDBOX_URL", default="http://127.0.0.1:8025").rstrip("/")
# Base URLs a traffic account may use besides its channel's own (gateway/provider_urls.py); the
# sandbox is allowed by default only in DEBUG.
PROVIDER_ALLOWED_BASE_URLS = env.list("PROVIDER_ALLOWED_BASE_URLS", default=[SANDBOX_URL] if DEBUG else [])
WHATSAPP_GRAPH_VERSION = env.str("WHATSAPP_GRAPH_VERSION", default="v23.0")
PROVIDER_CONNECT_TIMEOUT = env.float("PROVIDER_CONNECT_TIMEOUT", default=3.05)
PROVIDER_READ_TIMEOUT = env.float("PROVIDER_READ_TIMEOUT", default=10.0)
PROVIDER_POOL_SIZE = env.int("PROVIDER_POOL_SIZE", default=64)
PROVIDER_PROXY_URL = env.str("PROVIDER_PROXY_URL", default="")

# Dispatch
# Longest a process trusts "no webhook applies here" (webhooks_app/services/subscription_cache.py).
WEBHOOK_SUBSCRIPTION_CACHE_SECONDS = env.float("WEBHOOK_SUBSCRIPTION_CACHE_SECONDS", default=60.0)
# How long a process may use its copy of a customer or traffic account (accounts_app/cache.py).
ACCOUNT_CACHE_SECONDS = env.float("ACCOUNT_CACHE_SECONDS", default=5.0)
DISPATCH_MAX_ATTEMPTS = env.int("DISPATCH_MAX_ATTEMPTS", default=8)
# After a read timeout (the provider may have the message) the retry waits this long, past the
# provider's usual report delay, and happens only if no report arrived meanwhile.
AMBIGUOUS_RETRY_DELAY_SECONDS = env.float("AMBIGUOUS_RETRY_DELAY_SECONDS", default=120.0)
DISPATCH_RETRY_BASE_SECONDS = env.float("DISPATCH_RETRY_BASE_SECONDS", default=2.0)
DISPATCH_RETRY_MAX_SECONDS = env.float("DISPATCH_RETRY_MAX_SECONDS", default=900.0)
DISPATCH_REPUBLISH_AFTER_SECONDS = env.int("DISPATCH_REPUBLISH_AFTER_SECONDS", default=30)
DISPATCH_CLAIM_LEASE_SECONDS = env.int("DISPATCH_CLAIM_LEASE_SECONDS", default=300)
# Worker crashes (README "Worker crashes"): each worker process writes a heartbeat key this often
# with this TTL; the sweeper releases a worker's claims once its key has been missing this long.
DISPATCH_HEARTBEAT_SECONDS = env.float("DISPATCH_HEARTBEAT_SECONDS", default=1.0)
DISPATCH_HEARTBEAT_TTL_SECONDS = env.float("DISPATCH_HEARTBEAT_TTL_SECONDS", default=5.0)
DISPATCH_DEAD_WORKER_CONFIRM_SECONDS = env.float("DISPATCH_DEAD_WORKER_CONFIRM_SECONDS", default=3.0)
# Fair dispatch (README "Fair dispatch"): chunks of one traffic account in flight at once per lane
# across all workers, how soon a chunk that found none free comes back, and the circuit breaker.
DISPATCH_ACCOUNT_CONCURRENCY = env.int("DISPATCH_ACCOUNT_CONCURRENCY", default=16)
DISPATCH_ACCOUNT_BUSY_RETRY_SECONDS = env.float("DISPATCH_ACCOUNT_BUSY_RETRY_SECONDS", default=2.0)
DISPATCH_BREAKER_FAILURES = env.int("DISPATCH_BREAKER_FAILURES", default=5)
DISPATCH_BREAKER_COOLDOWN_SECONDS = env.float("DISPATCH_BREAKER_COOLDOWN_SECONDS", default=30.0)
DISPATCH_CHUNK_SIZE = env.int("DISPATCH_CHUNK_SIZE", default=100)
# Most destinations in one Mitto /smsbulk call (a chunk's same-text SMS of one account); 1 turns it off.
MITTO_BULK_MAX_DESTINATIONS = env.int("MITTO_BULK_MAX_DESTINATIONS", default=500)
# Single sends accepted within this window leave as one dispatch task (0: one task per send).
DISPATCH_PUBLISH_COALESCE_SECONDS = env.float("DISPATCH_PUBLISH_COALESCE_SECONDS", default=0.005)
SENDBULK_MAX_DESTINATIONS = env.int("SENDBULK_MAX_DESTINATIONS", default=100_000)

STATISTICS_MAX_RANGE_DAYS = env.int("STATISTICS_MAX_RANGE_DAYS", default=93)

# Customer webhooks
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
WEBHOOK_RETRY_FOR_SECONDS = env.int("WEBHOOK_RETRY_FOR_SECONDS", default=90_000)
WEBHOOK_SECRET_ROTATION_SECONDS = env.int("WEBHOOK_SECRET_ROTATION_SECONDS", default=86_400)
# Customer-supplied URLs (webhooks, Viber file probes) reach only globally routable addresses;
# WEBHOOK_ALLOWED_NETWORKS opens private ranges (e.g. 10.0.0.0/8 for internal receivers) and
# WEBHOOK_DENIED_NETWORKS adds to the built-in deny list (gateway/url_safety.py).
WEBHOOK_ALLOWED_NETWORKS = env.list("WEBHOOK_ALLOWED_NETWORKS", default=[])
WEBHOOK_DENIED_NETWORKS = env.list("WEBHOOK_DENIED_NETWORKS", default=[])
WEBHOOK_CLAIM_LEASE_SECONDS = env.int("WEBHOOK_CLAIM_LEASE_SECONDS", default=120)
WEBHOOK_REPUBLISH_AFTER_SECONDS = env.int("WEBHOOK_REPUBLISH_AFTER_SECONDS", default=60)
WEBHOOK_POOL_SIZE = env.int("WEBHOOK_POOL_SIZE", default=32)
WEBHOOK_ATTEMPT_RETENTION_DAYS = env.int("WEBHOOK_ATTEMPT_RETENTION_DAYS", default=30)

# Housekeeping
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)
PURGE_UNTRIGGERED_AFTER_DAYS = env.int("PURGE_UNTRIGGERED_AFTER_DAYS", default=60)
# Provider request/response bodies of dispatch attempts hold message content; emptied after this.
DISPATCH_ATTEMPT_BODY_RETENTION_DAYS = env.int("DISPATCH_ATTEMPT_BODY_RETENTION_DAYS", default=30)

# Celery: Redis broker; the database is the outbox, so results are not stored.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One task per worker thread: a killed worker takes no queued chunks with it, and a backlog of one
# account's chunks is not pulled into one worker ahead of everyone else's (README "Worker crashes").
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=1)
# Broker restarts (README "Broker restarts"): kombu's Redis transport with the fault that made a
# busy worker exit when Redis went away fixed (gateway/broker.py); reconnect for ever, not 100
# times; a half-open broker socket is noticed by keepalive and a health-check PING.
CELERY_BROKER_TRANSPORT = "gateway.broker:Transport"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "health_check_interval": env.int("BROKER_HEALTH_CHECK_SECONDS", default=10),
    "socket_keepalive": True,
    "socket_connect_timeout": 5,
    "retry_on_timeout": True,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# A dispatch chunk that is running when the broker goes away finishes: its messages are claimed in
# PostgreSQL, so the redelivered task finds nothing left to send.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TIMEZONE = "UTC"

# JSON lines with request, customer, account and message ids; secrets redacted (gateway/logs.py).
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = gateway_logs.logging_config(LOG_LEVEL)
gateway_logs.configure_structlog()
# Python warnings (Celery's start-up warnings among them) go through logging, so as JSON lines too.
logging.captureWarnings(True)

# Beat's sweepers get a queue and a worker of their own: behind a dispatch backlog they would
# fire failover deadlines late (measured: 9-25 s on a shared queue with 100,000 pending chains).
HOUSEKEEPING_TASKS = [
    "channels.sweep_dispatch", "channels.sweep_failover", "channels.purge_untriggered",
    "channels.expire_idempotency_records", "webhooks.sweep", "webhooks.expire_attempts",
    "channels.cancel_pending_of_inactive",
    "channels.expire_attempt_bodies", "channels.drain_reports",
]
CELERY_TASK_ROUTES = {
    **{name: {"queue": "housekeeping"} for name in HOUSEKEEPING_TASKS},
    "channels.dispatch_messages": {"queue": "dispatch"},  # single sends name dispatch_priority
    "webhooks.*": {"queue": "webhooks"},
}
# Delivery reports are stored by the callback and applied in batches (docs/decisions/report-inbox.md):
# rows per batch transaction, how long one published drain stands for every report that follows,
# beat's safety-net drain for a lost publish, and failed applications before a report is parked.
REPORT_DRAIN_BATCH = env.int("REPORT_DRAIN_BATCH", default=500)
REPORT_DRAIN_TRIGGER_MS = env.int("REPORT_DRAIN_TRIGGER_MS", default=1000)
REPORT_DRAIN_SWEEP_SECONDS = env.float("REPORT_DRAIN_SWEEP_SECONDS", default=2.0)
REPORT_INBOX_MAX_ATTEMPTS = env.int("REPORT_INBOX_MAX_ATTEMPTS", default=5)
CELERY_BEAT_SCHEDULE = {
    "sweep-dispatch": {"task": "channels.sweep_dispatch", "schedule": env.float("DISPATCH_SWEEP_SECONDS", default=1.0)},
    "sweep-failover": {"task": "channels.sweep_failover", "schedule": env.float("FAILOVER_SWEEP_SECONDS", default=0.5)},
    "purge-untriggered": {"task": "channels.purge_untriggered", "schedule": 3600.0},
    "expire-idempotency-records": {"task": "channels.expire_idempotency_records", "schedule": 3600.0},
    "sweep-webhooks": {"task": "webhooks.sweep", "schedule": env.float("WEBHOOK_SWEEP_SECONDS", default=5.0)},
    "expire-webhook-attempts": {"task": "webhooks.expire_attempts", "schedule": 3600.0},
    "expire-attempt-bodies": {"task": "channels.expire_attempt_bodies", "schedule": 3600.0},
    "drain-reports": {"task": "channels.drain_reports", "schedule": REPORT_DRAIN_SWEEP_SECONDS},
}

# Operations (README "Operations"): beat's heartbeat for readiness, who may read /metrics.
BEAT_HEARTBEAT_SECONDS = env.float("BEAT_HEARTBEAT_SECONDS", default=2.0)
BEAT_HEARTBEAT_MAX_AGE_SECONDS = env.float("BEAT_HEARTBEAT_MAX_AGE_SECONDS", default=30.0)
CELERY_BEAT_SCHEDULER = "gateway.heartbeat:HeartbeatScheduler"
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
