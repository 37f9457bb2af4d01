"""RDK's one settings module; every value comes from `rdk.env`.

A process whose configuration has problems stops here, with the full list:
whatever loaded the settings (manage.py, django-admin, `python -m django`,
WSGI, ASGI, a script). Only `envcheck` and `help` go on, with harmless
placeholders, so that they can report every problem.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from rdk import env

CONFIG = env.load()
env.refuse_misconfigured(CONFIG, sys.argv)
RDK_ENV = CONFIG.env
BASE_DIR = env.BASE_DIR


def _value(name: str, placeholder: Any) -> Any:
    value = CONFIG.values.get(name)
    return placeholder if value is None else value


def _git_release() -> str:
    try:
        result = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],  # noqa: S607  # nosec B607
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout.strip()


SECRET_KEY = _value("SECRET_KEY", env.DEV_SECRET_KEY)
SECRET_KEY_FALLBACKS = _value("SECRET_KEY_FALLBACKS", [])
DEBUG = bool(_value("DEBUG", False))
ALLOWED_HOSTS = _value("ALLOWED_HOSTS", [])
CSRF_TRUSTED_ORIGINS = _value("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = _value("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
RDK_RELEASE = CONFIG.values.get("RDK_RELEASE") or _git_release() or "unknown"
RDK_ADMIN_PATH = _value("RDK_ADMIN_PATH", "admin/")
TRUSTED_PROXY_COUNT = _value("TRUSTED_PROXY_COUNT", 0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks_db",
    "crontask",
    "rdk",
    "catalog",
    "orders",
    "payments",
    "opsadmin",
]

MIDDLEWARE = [
    "rdk.requestid.RequestIdMiddleware",
    # Inside the request id, so slow requests and queries are logged with it.
    "rdk.slowlog.SlowRequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files in every environment: from the app folders locally, from
    # STATIC_ROOT (collectstatic, hashed names) elsewhere.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "rdk.urls"
WSGI_APPLICATION = "rdk.wsgi.application"
ASGI_APPLICATION = "rdk.asgi.application"

TEMPLATES: list[dict[str, Any]] = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "rdk.context_processors.shop",
            ],
        },
    },
]

# Database --------------------------------------------------------------------

DATABASES = {
    "default": env.database_settings(
        _value("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=_value("DATABASE_CONN_MAX_AGE", 60),
        pooler=_value("DATABASE_POOLER", "none"),
        pooler_prepared_statements=_value("DATABASE_POOLER_PREPARED_STATEMENTS", False),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache, sessions ------------------------------------------------------------

CACHES = {"default": env.cache_settings(_value("CACHE_URL", "locmemcache://"))}
CACHES["default"]["KEY_PREFIX"] = "rdk"
if CACHES["default"]["BACKEND"].endswith("RedisCache"):
    CACHES["default"]["OPTIONS"] = {"socket_connect_timeout": 2, "socket_timeout": 2}
# cached_db, reading the session's user in the same round trip (opsadmin/sessions.py).
SESSION_ENGINE = "opsadmin.sessions"

# Auth -----------------------------------------------------------------------

# ModelBackend, loading a session's user with its sign-out epochs from the cache
# in one round trip (opsadmin/backends.py). Sessions name their backend: ones
# signed in under another ask their shopper to sign in again.
AUTHENTICATION_BACKENDS = ["opsadmin.backends.SessionUserBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Email ----------------------------------------------------------------------

MAILERS = env.mailers_settings(_value("EMAIL_URL", "consolemail://"))
DEFAULT_FROM_EMAIL = _value("DEFAULT_FROM_EMAIL", "shop@realdealkickz.app")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Sent emails' bodies are kept where the ops console's Outbox shows them; in
# production they are dropped once sent (they can hold one-time links).
EMAIL_KEEP_BODIES = RDK_ENV != "production"
EMAIL_OUTBOX_PAGE = RDK_ENV in ("local", "staging")

# Internationalisation ---------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static and media -------------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = _value("STATIC_ROOT", str(BASE_DIR / "var" / "static"))
MEDIA_URL = "media/"
MEDIA_ROOT = _value("MEDIA_ROOT", str(BASE_DIR / "var" / "media"))
SNAPSHOT_DIR = _value("SNAPSHOT_DIR", str(BASE_DIR / "var" / "snapshots"))
if RDK_ENV == "local":
    WHITENOISE_USE_FINDERS = True
    WHITENOISE_AUTOREFRESH = True
    (BASE_DIR / "var" / "static").mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or RDK_ENV == "local"
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Stripe -----------------------------------------------------------------------

STRIPE_SECRET_KEY = _value("STRIPE_SECRET_KEY", "")
STRIPE_PUBLISHABLE_KEY = _value("STRIPE_PUBLISHABLE_KEY", "")
STRIPE_WEBHOOK_SECRETS = _value("STRIPE_WEBHOOK_SECRETS", [])
STRIPE_API_BASE = _value("STRIPE_API_BASE", "")

# Observability ------------------------------------------------------------------

SENTRY_DSN = _value("SENTRY_DSN", "")
SENTRY_TRACES_SAMPLE_RATE = _value("SENTRY_TRACES_SAMPLE_RATE", 0.0)
RDK_LOG_FORMAT = _value("RDK_LOG_FORMAT", "json")
RDK_LOG_LEVEL = _value("RDK_LOG_LEVEL", "info").upper()
RDK_SLOW_REQUEST_MS = _value("RDK_SLOW_REQUEST_MS", 1000)
RDK_SLOW_QUERY_MS = _value("RDK_SLOW_QUERY_MS", 200)

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "rdk.logs.RequestIdFilter"},
        "redact": {"()": "rdk.logs.RedactFilter"},
    },
    "formatters": {
        "json": {"()": "rdk.logs.JsonFormatter"},
        "console": {"()": "rdk.logs.ConsoleFormatter"},
    },
    "handlers": {
        "stream": {
            "class": "logging.StreamHandler",
            "formatter": RDK_LOG_FORMAT,
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["stream"], "level": RDK_LOG_LEVEL},
    "loggers": {
        # The access line from rdk.requestid replaces Django's own request log.
        "django.server": {"level": "WARNING"},
        # Tokens in paths and query strings are redacted (rdk/redaction.py).
        "django.request": {"level": "ERROR", "filters": ["redact"]},
        "django.security": {"filters": ["redact"]},
    },
}

# REST framework -----------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "rdk.api.exception_handler",
    # Session only: DRF's default HTTP Basic would check a password on every
    # request, outside the sign-in limits, answering 403/200 as a guessing oracle.
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Real Deal Kickz API",
    "DESCRIPTION": "The shop's public, read-only catalog API.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "rdk.api.empty_values_hook",
    ],
}

# Security ---------------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
if RDK_ENV != "local":
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^jobs/health$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGIN_URL = "/account/login/"

# Payments -----------------------------------------------------------------------

# The Stripe SDK logs every request at info; RDK's gateway logs failures itself.
LOGGING["loggers"]["stripe"] = {"level": "WARNING"}

# Security hardening -------------------------------------------------------------
# See docs/security.md. Rate limits: rdk/ratelimits.py holds the table; counters
# live in the default cache (Redis outside local; rdk.checks refuses anything else).

from urllib.parse import urlsplit  # noqa: E402

from django.utils.csp import CSP  # noqa: E402

RATE_LIMITS = _value("RATE_LIMITS", {})
RATELIMIT_USE_CACHE = "default"
RATELIMIT_IP_META_KEY = "rdk.clientip.client_ip"
RATELIMIT_VIEW = "rdk.ratelimits.ratelimited_view"
RATELIMIT_FAIL_OPEN = True  # an unreadable counter: rdk.ratelimits applies its cache-down policy
MIDDLEWARE.append("rdk.ratelimits.RatelimitedMiddleware")
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["rdk.api.RateLimitThrottle"]

# Cookies: never readable by scripts; Secure outside local (plain http there).
# SameSite=Lax, not Strict: shoppers come back from Stripe Checkout by a
# cross-site navigation and must arrive signed in.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # scripts read the token from the form, never the cookie
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
DEBUG_PROPAGATE_EXCEPTIONS = False

# Content-Security-Policy (Django's own middleware), no 'unsafe-inline'. Forms
# may post to this site only; checkout redirects to Stripe's hosted page (the
# local stand-in when STRIPE_API_BASE is set), which form-action must allow as a
# redirect target of the checkout form.
_stripe_base = urlsplit(STRIPE_API_BASE)
CHECKOUT_ORIGIN = (
    f"{_stripe_base.scheme}://{_stripe_base.netloc}"
    if STRIPE_API_BASE
    else "https://checkout.stripe.com"
)
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "style-src": [CSP.SELF, CSP.NONCE],
    "script-src": [CSP.SELF, CSP.NONCE],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF, CHECKOUT_ORIGIN],
}
if DEBUG:
    # Django's own debug pages are inline-styled: locally, with DEBUG on, the
    # policy reports violations in the console instead of breaking them.
    SECURE_CSP_REPORT_ONLY, SECURE_CSP = SECURE_CSP, {}
# After the page cache (below): a stored page keeps the policy header it was
# stored with (never one with a nonce), so a cache hit skips this middleware.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware"),
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
)
TEMPLATES[0]["OPTIONS"]["context_processors"].append("django.template.context_processors.csp")

# Orders ----------------------------------------------------------------------

# Row security: after authentication, so the request's transaction is scoped to
# the signed-in shopper (rdk/rls.py, docs/orders.md).
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "rdk.rls.RowSecurityMiddleware",
)
TEMPLATES[0]["OPTIONS"]["context_processors"].append("orders.context_processors.cart")
ORDERS_RESERVATION_MINUTES = _value("ORDERS_RESERVATION_MINUTES", 30)
# Carriers staff may ship with, in order (codes from orders/carriers.py).
SHIPPING_CARRIERS = ["usps", "ups", "fedex", "dhl", "royal_mail", "canada_post"]
ORDERS_PURCHASE_LIMIT_DAYS = _value("ORDERS_PURCHASE_LIMIT_DAYS", 30)
# Staff holding orders.refund_order may refund up to this much at once (minor
# units, any currency); more needs orders.refund_order_any_amount.
ORDERS_STAFF_REFUND_LIMIT = 200_00
LOGIN_REDIRECT_URL = "/account/"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

# Opsadmin ---------------------------------------------------------------------
# The default admin site is the OTP-enforcing one (opsadmin.sites.RdkAdminSite),
# so every app's `admin.site.register` lands behind TOTP.
INSTALLED_APPS[INSTALLED_APPS.index("django.contrib.admin")] = "opsadmin.apps.RdkAdminConfig"
INSTALLED_APPS[INSTALLED_APPS.index("opsadmin") : INSTALLED_APPS.index("opsadmin")] = [
    "django_otp",
    "django_otp.plugins.otp_totp",
]
# Maintenance answers before sessions are read; OTP, session epochs and session
# activity need the authenticated user.
MIDDLEWARE.insert(
    MIDDLEWARE.index("rdk.requestid.RequestIdMiddleware") + 1,
    "rdk.maintenance.MaintenanceMiddleware",
)
_AUTH_AT = MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1
MIDDLEWARE[_AUTH_AT:_AUTH_AT] = [
    "opsadmin.middleware.SessionEpochMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "opsadmin.middleware.SessionActivityMiddleware",
]
OTP_TOTP_ISSUER = "Real Deal Kickz"
OTP_TOTP_THROTTLE_FACTOR = 1  # failed codes wait 1, 2, 4, 8 … seconds (capped by django-otp)
OTP_STATIC_THROTTLE_FACTOR = 1
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
OTP_ENROLMENT_LINK_HOURS = 24  # an Owner's enrolment link works this long, once
BACKUP_CODE_SCRYPT_N = 2**14  # scrypt cost for backup-code hashes (about 50 ms each)
SNAPSHOT_MAX_AGE_HOURS = _value("SNAPSHOT_MAX_AGE_HOURS", 26)
# Tables whose row counts a snapshot records and a restore check compares; a
# table missing from this database is recorded as "not present".
SNAPSHOT_KEY_TABLES = [
    "orders_order",
    "catalog_product",
    "catalog_variant",
    "orders_profile",
    "payments_stripeevent",
    "auth_user",
]
INCIDENT_EXPORT_DIR = str(BASE_DIR / "docs" / "incidents")
MAINTENANCE_RETRY_AFTER = 300  # seconds, sent as Retry-After on 503s
DATABASE_UNAVAILABLE_RETRY_AFTER = 30  # seconds, on the 503 answered while PostgreSQL is down
SESSION_ACTIVITY_INTERVAL = 60  # seconds between two writes of one session's activity

# Catalog ----------------------------------------------------------------------

# Query variants (filters, searches, pages) one page may store per cache TTL
# window (rdk/pagecache.py); more are rendered and served, not stored.
PAGE_CACHE_MAX_VARIANTS = 200

if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # The same backend, reusing its Redis client and degrading to misses while
    # Redis is unreachable, trying again every RETRY_SECONDS (see rdk/cache.py).
    CACHES["default"]["BACKEND"] = "rdk.cache.RedisCache"
    CACHES["default"]["RETRY_SECONDS"] = 5

# Stored anonymous pages are served before the content security policy,
# sessions, CSRF and auth run: none of them can change a stored page. After
# SecurityMiddleware (its HTTPS redirect) and WhiteNoise (static files).
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.csp.ContentSecurityPolicyMiddleware"),
    "rdk.pagecache.PageCacheMiddleware",
)

# Background work (docs/operations.md) -------------------------------------------
# django.tasks on the database backend: a task enqueued inside a transaction is
# committed, or rolled back, with the change that caused it. `immediate` runs a
# task inside the caller (tests only; no worker, no retries).
TASKS = {
    "default": {
        "BACKEND": {
            "database": "django_tasks_db.DatabaseBackend",
            "immediate": "django.tasks.backends.immediate.ImmediateBackend",
        }[_value("TASKS_BACKEND", "database")],
    }
}
TASKS_RETRY_BASE_SECONDS = _value("TASKS_RETRY_BASE_SECONDS", 30)
EMAIL_TASK_ORPHANED_SECONDS = _value("EMAIL_TASK_ORPHANED_SECONDS", 600)
STRIPE_RECONCILE_APPLY = _value("STRIPE_RECONCILE_APPLY", False)
# One scheduler across every host: `manage.py crontask` holds a Redis lock
# outside local (locally one `make run` starts the only one).
_CACHE_URL = _value("CACHE_URL", "")
CRONTASK: dict[str, str] = {}
if RDK_ENV != "local" and _CACHE_URL.startswith("redis"):
    CRONTASK["REDIS_URL"] = _CACHE_URL
# The worker logs each task it runs; RDK's own lines say what the task did.
LOGGING["loggers"]["django_tasks_db"] = {"level": "WARNING"}
LOGGING["loggers"]["apscheduler"] = {"level": "WARNING"}

# Opsadmin: jobs health -----------------------------------------------------------
# /jobs/health answers 503 beyond these (docs/ops-console.md); the snapshot age
# limit is SNAPSHOT_MAX_AGE_HOURS.
JOBS_HEALTH_QUEUE_DEPTH_MAX = _value("JOBS_HEALTH_QUEUE_DEPTH_MAX", 500)
JOBS_HEALTH_QUEUE_AGE_MINUTES = _value("JOBS_HEALTH_QUEUE_AGE_MINUTES", 5)
JOBS_HEALTH_FAILED_TASKS_MAX = _value("JOBS_HEALTH_FAILED_TASKS_MAX", 0)
JOBS_HEALTH_RUNNING_MAX_MINUTES = _value("JOBS_HEALTH_RUNNING_MAX_MINUTES", 120)
JOBS_HEALTH_SCHEDULE_SLACK = _value("JOBS_HEALTH_SCHEDULE_SLACK", 2.0)
JOBS_HEALTH_FAILED_EVENT_MINUTES = 15  # a failed Stripe event older than this
JOBS_HEALTH_RECEIVED_EVENT_MINUTES = 5  # an event received but never finished
JOBS_HEALTH_RESTORE_CHECK_MAX_AGE_DAYS = 8  # last restore check passed within
JOBS_HEALTH_RESERVATION_OVERDUE_MINUTES = 10  # an expired reservation still active

# Checkout funnel (rdk/funnel.py, docs/observability.md) -----------------------------
FUNNEL_FLUSH_SECONDS = _value("FUNNEL_FLUSH_SECONDS", 30)
FUNNEL_ALERT_PAID_PERCENT = _value("FUNNEL_ALERT_PAID_PERCENT", 50)
FUNNEL_ALERT_MIN_HANDOVERS = _value("FUNNEL_ALERT_MIN_HANDOVERS", 5)
