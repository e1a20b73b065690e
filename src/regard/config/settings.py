"""Regard's settings, read from the environment.

Every variable read here is listed in docs/configuration.md; a test
(tests/config/test_configuration_docs.py) fails when the two disagree.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = BASE_DIR.parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


REGARD_ENV = env("REGARD_ENV", "development").strip().lower()
if REGARD_ENV not in {"development", "production"}:
    # "prod" or a typo must not quietly run in development with the public default key.
    raise ImproperlyConfigured(f"REGARD_ENV: '{REGARD_ENV}' is neither 'development' nor 'production'.")
IS_PRODUCTION = REGARD_ENV == "production"
DEFAULT_SECRET_KEY = "regard-development-key-do-not-use-in-production-0123456789abcdef"

DATA_DIR = Path(env("REGARD_DATA_DIR", str(PROJECT_DIR / "var")))
SECRET_KEY = env("REGARD_SECRET_KEY", DEFAULT_SECRET_KEY)
DEBUG = env_bool("REGARD_DEBUG", default=not IS_PRODUCTION)
ALLOWED_HOSTS = env_list(
    "REGARD_ALLOWED_HOSTS", "" if IS_PRODUCTION else "127.0.0.1,localhost,testserver,[::1]"
)
CSRF_TRUSTED_ORIGINS = env_list("REGARD_CSRF_TRUSTED_ORIGINS")

if IS_PRODUCTION:
    # A production start with an unsafe setting is refused outright, not warned about.
    problems = []
    if DEBUG:
        problems.append("REGARD_DEBUG must be off")
    # A long key of few distinct characters ("aaaa…") is as guessable as a short one.
    if (
        SECRET_KEY == DEFAULT_SECRET_KEY
        or "do-not-use-in-production" in SECRET_KEY
        or len(SECRET_KEY) < 50
        or len(set(SECRET_KEY)) < 16
    ):
        problems.append(
            "REGARD_SECRET_KEY must be set to a random value of 50+ characters (e.g. from"
            " `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
        )
    if not ALLOWED_HOSTS:
        problems.append("REGARD_ALLOWED_HOSTS must name the host(s) Regard is served on")
    if problems:
        raise ImproperlyConfigured("Refusing to start in production: " + "; ".join(problems))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "regard.web",
    "regard.privacy",
    "regard.customers",
    "regard.matching",
    "regard.consent",
    "regard.outreach",
    "regard.support",
    "regard.policies",
    "regard.insights",
    "regard.api",
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
    "django_htmx.middleware.HtmxMiddleware",
    "regard.web.middleware.DomainErrorMiddleware",
]

ROOT_URLCONF = "regard.config.urls"
ASGI_APPLICATION = "regard.config.asgi.application"
WSGI_APPLICATION = "regard.config.wsgi.application"

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
                "regard.web.context_processors.navigation",
                "regard.support.context_processors.notifications",
            ],
        },
    },
]

SQLITE_PATH = DATA_DIR / "regard.sqlite3"
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{SQLITE_PATH}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # uvicorn serves Django over ASGI, where each request has its own connection object:
    # persistent connections (CONN_MAX_AGE) would leak one per request until PostgreSQL
    # refuses clients, and opening one per request costs more than the query. A pool
    # (psycopg_pool, Django ≥ 5.1) hands connections back at the end of each request.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 2, "max_size": 8, "timeout": 10}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web server read while the worker writes; IMMEDIATE avoids
        # upgrade deadlocks between the two processes.
        "init_command": ("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;"),
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Real time (live chat, the agent inbox): an in-process layer for the embedded default, Redis
# when REDIS_URL is set, so several web processes (and the worker and SMTP listener, whose
# conversation events push to the inbox) share one layer. See docs/configuration.md.
REDIS_URL = env("REDIS_URL")
REGARD_REDIS_LAYER = env("REGARD_REDIS_LAYER", "pubsub")
if REGARD_REDIS_LAYER not in {"pubsub", "lists"}:
    raise ImproperlyConfigured("REGARD_REDIS_LAYER: 'pubsub' or 'lists'.")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": (
                "channels_redis.pubsub.RedisPubSubChannelLayer"
                if REGARD_REDIS_LAYER == "pubsub"
                else "channels_redis.core.RedisChannelLayer"
            ),
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Rate limits (web.ratelimit) count in this cache, so every process shares one count:
# Redis when REDIS_URL is set, else a table in the main database (created by a migration).
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # The table's default cull at 300 rows deletes live counters (resetting a limit for
    # whoever's key sorts first); past this many rows the expired ones go first.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "regard_cache",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }
RATELIMIT_USE_CACHE = "default"
REGARD_PUBLIC_RATE_LIMIT = env("REGARD_PUBLIC_RATE_LIMIT", "30/m")
REGARD_CONTACT_RATE_LIMIT = env("REGARD_CONTACT_RATE_LIMIT", "5/10m")
REGARD_CHAT_RATE_LIMIT = env("REGARD_CHAT_RATE_LIMIT", "10/10m")
# Proxies allowed to say who the client is (X-Forwarded-For); none by default.
REGARD_TRUSTED_PROXIES = env_list("REGARD_TRUSTED_PROXIES")

# How phone numbers written without a country code are read (ISO 3166 region).
REGARD_DEFAULT_PHONE_REGION = env("REGARD_DEFAULT_PHONE_REGION", "US")
REGARD_HOST = env("REGARD_HOST", "127.0.0.1")
REGARD_PORT = int(env("REGARD_PORT", "8000"))
REGARD_API_PAGE_SIZE = 50
# Where a batch run of identity resolution blocks and scores: local or spark (docs/matching.md).
REGARD_MATCH_BACKEND = env("REGARD_MATCH_BACKEND", "local")
# The spark backend's cluster (spark://host:7077, yarn, local[N]) and extra Spark settings,
# "key=value;key=value" (spark.executor.memory=8g;spark.sql.shuffle.partitions=400).
REGARD_SPARK_MASTER = env("REGARD_SPARK_MASTER", "local[2]")
REGARD_SPARK_CONF = env("REGARD_SPARK_CONF", "")

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if IS_PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("REGARD_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = int(env("REGARD_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("REGARD_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Consent, the contact gate and the outbox (C2, C3); see docs/configuration.md.
REGARD_CONSENT_PURPOSES = env_list("REGARD_CONSENT_PURPOSES", "newsletter,offers,service,surveys")
# Purposes that need no marketing consent (still subject to suppression).
REGARD_CONSENT_FREE_PURPOSES = ["service"]
REGARD_PUBLIC_URL = env("REGARD_PUBLIC_URL", f"http://{REGARD_HOST}:{REGARD_PORT}").rstrip("/")
REGARD_SMTP_RELAY = env("REGARD_SMTP_RELAY", "smtp://127.0.0.1:2525")
REGARD_MAIL_FROM = env("REGARD_MAIL_FROM", "Regard <hello@regard.localhost>")
REGARD_MAIL_DOMAIN = env("REGARD_MAIL_DOMAIN", "regard.localhost")
REGARD_POSTAL_ADDRESS = env(
    "REGARD_POSTAL_ADDRESS", "Regard Demo Ltd, 1 Example Street, 10115 Berlin, Germany"
)
REGARD_DKIM_SELECTOR = env("REGARD_DKIM_SELECTOR", "regard")
REGARD_SMTPD_HOST = env("REGARD_SMTPD_HOST", "127.0.0.1")
REGARD_SMTPD_PORT = int(env("REGARD_SMTPD_PORT", "2526"))
# Addresses the support desk takes mail for at `regard smtpd`, besides each team's support address.
REGARD_SUPPORT_ADDRESSES = env_list("REGARD_SUPPORT_ADDRESSES")
# Support webhooks may reach loopback/private/link-local hosts (local development and tests only).
REGARD_WEBHOOKS_ALLOW_PRIVATE = env_bool("REGARD_WEBHOOKS_ALLOW_PRIVATE", default=False)
# S12: a campaign or journey whose complaints pass this share of messages sent pauses itself.
REGARD_BRAKE_COMPLAINT_RATE = float(env("REGARD_BRAKE_COMPLAINT_RATE", "0.003"))
if not 0 < REGARD_BRAKE_COMPLAINT_RATE < 1:
    raise ImproperlyConfigured(
        "REGARD_BRAKE_COMPLAINT_RATE: a fraction between 0 and 1, e.g. 0.003 for 0.3%."
    )
# How long a claimed outbox message may stay "sending" before its worker counts as dead:
# then marketing is marked uncertain (never resent) and service mail is resent (same Message-ID).
REGARD_OUTBOX_LEASE_SECONDS = int(env("REGARD_OUTBOX_LEASE_SECONDS", "300"))
if REGARD_OUTBOX_LEASE_SECONDS < 1:
    raise ImproperlyConfigured("REGARD_OUTBOX_LEASE_SECONDS: a whole number of seconds, at least 1.")
# Nothing but the outbox dispatcher sends (invariant 1): Django's own mail API is refused.
EMAIL_BACKEND = "regard.outreach.sender.RefusingEmailBackend"
# S8: the reply check points out a draft that asks the customer for more things than this.
# Largest request body over HTTP (the API and agent pages); public pages take 64 KB.
REGARD_MAX_REQUEST_BYTES = int(env("REGARD_MAX_REQUEST_BYTES", "2000000"))
DATA_UPLOAD_MAX_MEMORY_SIZE = REGARD_MAX_REQUEST_BYTES
REGARD_REPLY_CHECK_MAX_REQUESTS = int(env("REGARD_REPLY_CHECK_MAX_REQUESTS", "2"))
# S11: a group of this many exceptions within this many days must be decided by a manager.
# Art. 17: orders of an erased person are kept this many days after purchase (tax and
# commercial records, e.g. 10 years in Germany), stripped of the person; older ones are deleted.
REGARD_ORDER_RETENTION_DAYS = int(env("REGARD_ORDER_RETENTION_DAYS", "3650"))
if REGARD_ORDER_RETENTION_DAYS < 0:
    raise ImproperlyConfigured("REGARD_ORDER_RETENTION_DAYS: a whole number of days, 0 or more.")
# The key of the erasure tombstone's HMAC (docs/privacy.md). Empty: derived from SECRET_KEY, so
# set it in production before rotating REGARD_SECRET_KEY, or every tombstone stops matching.
REGARD_TOMBSTONE_KEY = env("REGARD_TOMBSTONE_KEY", "")
REGARD_EXCEPTION_GROUP_THRESHOLD = int(env("REGARD_EXCEPTION_GROUP_THRESHOLD", "5"))
REGARD_EXCEPTION_GROUP_WINDOW_DAYS = int(env("REGARD_EXCEPTION_GROUP_WINDOW_DAYS", "90"))
REGARD_EXCEPTION_DECISION_WORKING_DAYS = int(env("REGARD_EXCEPTION_DECISION_WORKING_DAYS", "10"))
if min(REGARD_EXCEPTION_GROUP_THRESHOLD, REGARD_EXCEPTION_GROUP_WINDOW_DAYS) < 1 or not (
    1 <= REGARD_EXCEPTION_DECISION_WORKING_DAYS <= 60
):
    raise ImproperlyConfigured(
        "REGARD_EXCEPTION_GROUP_THRESHOLD and REGARD_EXCEPTION_GROUP_WINDOW_DAYS: at least 1;"
        " REGARD_EXCEPTION_DECISION_WORKING_DAYS: 1 to 60."
    )

# Privacy (C7, docs/privacy.md): exports (Art. 15/20) and retention periods, in days.
# A customer's export link works this long after it is sent.
REGARD_EXPORT_LINK_DAYS = int(env("REGARD_EXPORT_LINK_DAYS", "7"))
# Retention: what outlives its period goes at the next run; 0 keeps it for ever.
REGARD_RETENTION_CONVERSATION_DAYS = int(env("REGARD_RETENTION_CONVERSATION_DAYS", "1095"))
REGARD_RETENTION_AUDIT_DAYS = int(env("REGARD_RETENTION_AUDIT_DAYS", "730"))
REGARD_RETENTION_OUTBOX_BODY_DAYS = int(env("REGARD_RETENTION_OUTBOX_BODY_DAYS", "90"))
REGARD_RETENTION_EXPORT_DAYS = int(env("REGARD_RETENTION_EXPORT_DAYS", "30"))
if not 1 <= REGARD_EXPORT_LINK_DAYS <= 90:
    raise ImproperlyConfigured("REGARD_EXPORT_LINK_DAYS: 1 to 90 days.")
if (
    min(
        REGARD_RETENTION_CONVERSATION_DAYS,
        REGARD_RETENTION_AUDIT_DAYS,
        REGARD_RETENTION_OUTBOX_BODY_DAYS,
        REGARD_RETENTION_EXPORT_DAYS,
    )
    < 0
):
    raise ImproperlyConfigured("REGARD_RETENTION_*_DAYS: whole days, 0 to keep for ever.")
if 0 < REGARD_RETENTION_EXPORT_DAYS < REGARD_EXPORT_LINK_DAYS:
    # A link that outlives its archive would promise a download that is gone.
    raise ImproperlyConfigured("REGARD_RETENTION_EXPORT_DAYS: at least REGARD_EXPORT_LINK_DAYS.")
