"""Settings for the gateway, read from the environment (12-factor).

Every value has a default that works for ``make run`` on one machine. With ``DEBUG`` off the
service refuses to start while a secret still has its development default, so a forgotten
variable in production fails loudly instead of signing tokens with a published key.
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEV_SECRET_KEY = "dev-only-secret-key-change-me"  # noqa: S105 - refused when DEBUG is off
DEV_JWT_SIGNING_KEY = "dev-only-jwt-signing-key-change-me"
DEV_CALLBACK_KEY = "dev-only-callback-signing-key-change-me"

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
CALLBACK_TOKEN_LIFETIME_SECONDS = env.int("CALLBACK_TOKEN_LIFETIME_SECONDS", default=3 * 24 * 3600)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

DATABASES = {"default": env.db_url("DATABASE_URL", default="postgres://gateway:gateway@127.0.0.1:55432/gateway")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default=f"test_{DATABASES['default']['NAME']}")}

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:56379/0")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "gw",
        "TIMEOUT": 300,
    }
}

if not DEBUG:
    _defaults = {
        "SECRET_KEY": SECRET_KEY == DEV_SECRET_KEY,
        "JWT_SIGNING_KEY": JWT_SIGNING_KEY == DEV_JWT_SIGNING_KEY,
        "MITTO_DLR_SIGNING_KEYS": any(k.startswith(DEV_CALLBACK_KEY) for k in MITTO_DLR_SIGNING_KEYS),
        "MITTO_INBOUND_SIGNING_KEYS": any(k.startswith(DEV_CALLBACK_KEY) for k in MITTO_INBOUND_SIGNING_KEYS),
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
    "accounts_app",
    "channels_app",
    "webhooks_app",
]

MIDDLEWARE = [
    "gateway.middleware.CaseInsensitiveApiPathMiddleware",
    "gateway.middleware.NulQueryRefusingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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

# Failed logins are throttled per account, not per IP: a credential-stuffing run from many
# addresses against one mailbox is what this stops.
LOGIN_MAX_FAILURES = env.int("LOGIN_MAX_FAILURES", default=5)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=900)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BYTES", default=32 * 1024 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts_app.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "gateway.problems.problem_exception_handler",
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
WHATSAPP_GRAPH_VERSION = env.str("WHATSAPP_GRAPH_VERSION", default="v21.0")
PROVIDER_CONNECT_TIMEOUT = env.float("PROVIDER_CONNECT_TIMEOUT", default=3.05)
PROVIDER_READ_TIMEOUT = env.float("PROVIDER_READ_TIMEOUT", default=10.0)
PROVIDER_POOL_SIZE = env.int("PROVIDER_POOL_SIZE", default=64)
PROVIDER_PROXY_URL = env.str("PROVIDER_PROXY_URL", default="")
SANDBOX_URL = env.str("SANDBOX_URL", default="http://127.0.0.1:8025").rstrip("/")

# Dispatch
# Longest a process trusts "no webhook applies here" (webhooks_app/services/subscription_cache.py).
WEBHOOK_SUBSCRIPTION_CACHE_SECONDS = env.float("WEBHOOK_SUBSCRIPTION_CACHE_SECONDS", default=60.0)
# How long a process may use its copy of a customer or traffic account (accounts_app/cache.py).
ACCOUNT_CACHE_SECONDS = env.float("ACCOUNT_CACHE_SECONDS", default=5.0)
DISPATCH_MAX_ATTEMPTS = env.int("DISPATCH_MAX_ATTEMPTS", default=8)
DISPATCH_RETRY_BASE_SECONDS = env.float("DISPATCH_RETRY_BASE_SECONDS", default=2.0)
DISPATCH_RETRY_MAX_SECONDS = env.float("DISPATCH_RETRY_MAX_SECONDS", default=900.0)
DISPATCH_REPUBLISH_AFTER_SECONDS = env.int("DISPATCH_REPUBLISH_AFTER_SECONDS", default=30)
DISPATCH_CLAIM_LEASE_SECONDS = env.int("DISPATCH_CLAIM_LEASE_SECONDS", default=300)
DISPATCH_CHUNK_SIZE = env.int("DISPATCH_CHUNK_SIZE", default=100)
# Single sends accepted within this window leave as one dispatch task (0: one task per send).
DISPATCH_PUBLISH_COALESCE_SECONDS = env.float("DISPATCH_PUBLISH_COALESCE_SECONDS", default=0.005)
SENDBULK_MAX_DESTINATIONS = env.int("SENDBULK_MAX_DESTINATIONS", default=100_000)

STATISTICS_MAX_RANGE_DAYS = env.int("STATISTICS_MAX_RANGE_DAYS", default=93)

# Customer webhooks
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
WEBHOOK_RETRY_FOR_SECONDS = env.int("WEBHOOK_RETRY_FOR_SECONDS", default=90_000)
WEBHOOK_SECRET_ROTATION_SECONDS = env.int("WEBHOOK_SECRET_ROTATION_SECONDS", default=86_400)
WEBHOOK_ALLOWED_NETWORKS = env.list("WEBHOOK_ALLOWED_NETWORKS", default=[])
# Unset: loopback, link-local and cloud metadata are refused when DEBUG is off, nothing in DEBUG.
WEBHOOK_DENIED_NETWORKS = env.list("WEBHOOK_DENIED_NETWORKS", default=None)
WEBHOOK_CLAIM_LEASE_SECONDS = env.int("WEBHOOK_CLAIM_LEASE_SECONDS", default=120)
WEBHOOK_REPUBLISH_AFTER_SECONDS = env.int("WEBHOOK_REPUBLISH_AFTER_SECONDS", default=60)
WEBHOOK_POOL_SIZE = env.int("WEBHOOK_POOL_SIZE", default=32)
WEBHOOK_ATTEMPT_RETENTION_DAYS = env.int("WEBHOOK_ATTEMPT_RETENTION_DAYS", default=30)

# Housekeeping
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)
PURGE_UNTRIGGERED_AFTER_DAYS = env.int("PURGE_UNTRIGGERED_AFTER_DAYS", default=60)

# Celery: Redis broker; the database is the outbox, so results are not stored.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=4)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TIMEZONE = "UTC"

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Beat's sweepers get a queue and a worker of their own: behind a dispatch backlog they would
# fire failover deadlines late (measured: 9-25 s on a shared queue with 100,000 pending chains).
HOUSEKEEPING_TASKS = [
    "channels.sweep_dispatch", "channels.sweep_failover", "channels.purge_untriggered",
    "channels.expire_idempotency_records", "webhooks.sweep", "webhooks.expire_attempts",
]
CELERY_TASK_ROUTES = {
    **{name: {"queue": "housekeeping"} for name in HOUSEKEEPING_TASKS},
    "channels.dispatch_messages": {"queue": "dispatch"},
    "webhooks.*": {"queue": "webhooks"},
}
CELERY_BEAT_SCHEDULE = {
    "sweep-dispatch": {"task": "channels.sweep_dispatch", "schedule": env.float("DISPATCH_SWEEP_SECONDS", default=1.0)},
    "sweep-failover": {"task": "channels.sweep_failover", "schedule": env.float("FAILOVER_SWEEP_SECONDS", default=0.5)},
    "purge-untriggered": {"task": "channels.purge_untriggered", "schedule": 3600.0},
    "expire-idempotency-records": {"task": "channels.expire_idempotency_records", "schedule": 3600.0},
    "sweep-webhooks": {"task": "webhooks.sweep", "schedule": env.float("WEBHOOK_SWEEP_SECONDS", default=5.0)},
    "expire-webhook-attempts": {"task": "webhooks.expire_attempts", "schedule": 3600.0},
}
