"""Every setting RDK reads from the environment, declared once and validated.

This is the runbook's `env.ts` validator. `rdk/settings.py` is the only caller
of `load()`; app code reads `django.conf.settings`, never `os.environ`.

A `Var` names a variable, how to parse it, its default in each environment
(`REQUIRED` where it has none) and the rules its value must meet. `load()`
parses and checks every variable and returns *all* problems at once, so an
operator fixes a broken deploy in one pass. Problems never contain a value:
several variables hold credentials (a `DATABASE_URL` carries a password), so
no message echoes what it was given, except for the closed-choice
variables flagged `echo=True`, whose values are not secret by construction.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

ENVIRONMENTS = ("local", "staging", "production")

# A development-only key: refused outside `local` by the SECRET_KEY rule below.
DEV_SECRET_KEY = "rdk-local-development-key-never-use-outside-local-0123456789abcdef"  # noqa: S105 (refused outside local)

# The local Stripe stand-in (`manage.py stripe_standin`) accepts these; they
# are test-mode shaped so the same key rules apply to them.
STANDIN_SECRET_KEY = "sk_test_rdk_local_standin"  # noqa: S105 (the stand-in accepts only this)
STANDIN_PUBLISHABLE_KEY = "pk_test_rdk_local_standin"
STANDIN_WEBHOOK_SECRET = "whsec_rdk_local_standin"  # noqa: S105
STANDIN_API_BASE = "http://127.0.0.1:12111"


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


class InvalidValue(ValueError):
    """A value could not be parsed; its message says what was expected."""


@dataclass(frozen=True)
class Problem:
    name: str
    problem: str
    expected: str

    def __str__(self) -> str:
        return f"{self.name}: {self.problem}; expected {self.expected}"


Rule = Callable[[Any, str, Mapping[str, Any]], "tuple[str, str] | None"]


@dataclass(frozen=True)
class Var:
    """One environment variable.

    `default` is either one value for every environment or a mapping from
    environment name to value; `REQUIRED` means the variable must be set.
    A rule receives (value, environment, every parsed value so far) and
    returns None or (problem, expected).
    """

    name: str
    parse: Callable[[str], Any]
    help: str
    default: Any = ""
    rules: tuple[Rule, ...] = ()
    echo: bool = False
    expected: str = "a value"

    def default_for(self, env: str) -> Any:
        if isinstance(self.default, Mapping):
            return self.default.get(env, REQUIRED)
        return self.default


# Parsers --------------------------------------------------------------------

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidValue("is not a boolean")


def parse_str(raw: str) -> str:
    return raw.strip()


def parse_list(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def parse_int(raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise InvalidValue("is not a whole number") from None


def parse_float(raw: str) -> float:
    try:
        return float(raw.strip())
    except ValueError:
        raise InvalidValue("is not a number") from None


def parse_rate_limits(raw: str) -> dict[str, str]:
    # The table of limits lives with the code that enforces them.
    from rdk.ratelimits import parse_overrides

    try:
        return parse_overrides(raw)
    except ValueError as exc:
        raise InvalidValue(str(exc)) from None


def choice(*options: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in options:
            raise InvalidValue(f"is {value!r}, not one of {', '.join(options)}")
        return value

    return parse


def parse_url(raw: str) -> str:
    value = raw.strip()
    if not value:
        return ""
    if not re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", value):
        raise InvalidValue("is not a URL")
    return value


# Rules ----------------------------------------------------------------------


def _outside_local(env: str) -> bool:
    return env != "local"


def rule_site_url(value: str, env: str, values: Mapping[str, Any]) -> tuple[str, str] | None:
    if env == "production" and value and _scheme(value) != "https":
        return ("is not https, which production refuses", "https://realdealkickz.app")
    return None


def rule_secret_key(value: str, env: str, _: Mapping[str, Any]) -> tuple[str, str] | None:
    if not _outside_local(env):
        return None
    if value == DEV_SECRET_KEY:
        return ("is the development default", "a fresh random key of at least 50 characters")
    if len(value) < 50:
        return (f"is {len(value)} characters long", "at least 50 random characters")
    return None


def rule_secret_key_fallbacks(
    value: list[str], env: str, parsed: Mapping[str, Any]
) -> tuple[str, str] | None:
    if parsed.get("SECRET_KEY") in value:
        return ("contains SECRET_KEY itself", "only the previous key(s), never the current one")
    if _outside_local(env):
        short = sum(1 for key in value if len(key) < 50 or key == DEV_SECRET_KEY)
        if short:
            return (
                f"has {short} key(s) shorter than 50 characters or the development default",
                "previous keys of at least 50 random characters, comma-separated",
            )
    return None


def rule_percent(value: int, env: str, _: Mapping[str, Any]) -> tuple[str, str] | None:
    if not 0 <= value <= 100:
        return ("is outside 0 to 100", "a percentage between 0 and 100")
    return None


def rule_debug(value: bool, env: str, _: Mapping[str, Any]) -> tuple[str, str] | None:
    if value and _outside_local(env):
        return (f"is on, which {env} refuses", "false (DEBUG is for local only)")
    return None


def rule_allowed_hosts(value: list[str], env: str, _: Mapping[str, Any]) -> tuple[str, str] | None:
    if _outside_local(env) and "*" in value:
        return ("contains '*'", "the exact host names this deployment serves")
    return None


def _scheme(url: str) -> str:
    return urlsplit(url).scheme.lower()


def rule_database_url(value: str, env: str, _: Mapping[str, Any]) -> tuple[str, str] | None:
    scheme = _scheme(value)
    if scheme not in DATABASE_SCHEMES:
        return ("has an unsupported scheme", "postgres://… (or sqlite:///… locally)")
    if _outside_local(env) and scheme not in POSTGRES_SCHEMES:
        return (
            f"is not PostgreSQL, which {env} requires",
            "postgres://USER:PASSWORD@HOST:PORT/NAME",
        )
    return None


def rule_database_pooler(value: str, env: str, values: Mapping[str, Any]) -> tuple[str, str] | None:
    if value != "none" and _scheme(values.get("DATABASE_URL") or "") not in POSTGRES_SCHEMES:
        return (
            f"is {value} but DATABASE_URL is not PostgreSQL",
            "none, or a postgres:// DATABASE_URL naming the pooler",
        )
    return None


def rule_cache_url(value: str, env: str, _: Mapping[str, Any]) -> tuple[str, str] | None:
    scheme = _scheme(value)
    if scheme not in CACHE_SCHEMES:
        return ("has an unsupported scheme", "redis://HOST:PORT/DB (or locmemcache:// locally)")
    if _outside_local(env) and scheme not in REDIS_SCHEMES:
        return (
            f"is not Redis, which {env} requires (sessions, rate limits and cache tags are shared)",
            "redis://HOST:PORT/DB or rediss://…",
        )
    return None


def _key_mode(value: str, prefixes: tuple[str, ...]) -> str | None:
    for prefix in prefixes:
        if value.startswith(prefix + "test_"):
            return "test"
        if value.startswith(prefix + "live_"):
            return "live"
    return None


def rule_stripe_secret_key(value: str, env: str, _: Mapping[str, Any]) -> tuple[str, str] | None:
    mode = _key_mode(value, ("sk_", "rk_"))
    if mode is None:
        return (
            "is not a Stripe secret or restricted key",
            "sk_test_…/rk_test_… or sk_live_…/rk_live_…",
        )
    if env == "production" and mode == "test":
        return (
            "is a test-mode key, which production refuses",
            "a live key: sk_live_… or rk_live_…",
        )
    if env != "production" and mode == "live":
        return (f"is a live-mode key, which {env} refuses", "a test key: sk_test_… or rk_test_…")
    return None


def rule_stripe_publishable_key(
    value: str, env: str, parsed: Mapping[str, Any]
) -> tuple[str, str] | None:
    if not value:
        return None
    mode = _key_mode(value, ("pk_",))
    if mode is None:
        return ("is not a Stripe publishable key", "pk_test_… or pk_live_…")
    secret_mode = _key_mode(parsed.get("STRIPE_SECRET_KEY") or "", ("sk_", "rk_"))
    if secret_mode and secret_mode != mode:
        return (
            f"is a {mode}-mode key but STRIPE_SECRET_KEY is {secret_mode}-mode",
            "keys of one mode",
        )
    return None


def rule_webhook_secrets(
    value: list[str], env: str, _: Mapping[str, Any]
) -> tuple[str, str] | None:
    if not value:
        return ("is empty", "one or more whsec_… secrets, comma-separated")
    bad = sum(1 for secret in value if not secret.startswith("whsec_"))
    if bad:
        return (
            f"has {bad} entr{'y' if bad == 1 else 'ies'} not starting with whsec_",
            "one or more whsec_… secrets, comma-separated",
        )
    return None


def rule_stripe_api_base(value: str, env: str, _: Mapping[str, Any]) -> tuple[str, str] | None:
    if value and env == "production":
        return ("is set, so production would not talk to Stripe", "unset in production")
    if value and _scheme(value) not in ("http", "https"):
        return ("is not an http(s) URL", "http://127.0.0.1:12111 for the local stand-in")
    return None


def rule_sentry_dsn(value: str, env: str, _: Mapping[str, Any]) -> tuple[str, str] | None:
    if value and _scheme(value) not in ("http", "https"):
        return ("is not a Sentry DSN", "https://KEY@HOST/PROJECT")
    return None


def rule_fraction(value: float, env: str, _: Mapping[str, Any]) -> tuple[str, str] | None:
    if not 0.0 <= value <= 1.0:
        return ("is outside 0 to 1", "a fraction between 0 and 1")
    return None


def rule_non_negative(value: int, env: str, _: Mapping[str, Any]) -> tuple[str, str] | None:
    if value < 0:
        return ("is negative", "0 or more")
    return None


def rule_email_url(value: str, env: str, _: Mapping[str, Any]) -> tuple[str, str] | None:
    scheme = _scheme(value)
    if scheme not in EMAIL_SCHEMES:
        return (
            "has an unsupported scheme",
            "smtp://, smtp+tls://, smtps:// (or outbox:// locally)",
        )
    if env == "production" and scheme not in SMTP_SCHEMES:
        return (
            "does not deliver mail, which production requires",
            "smtp+tls://USER:PASSWORD@HOST:587 or smtps://USER:PASSWORD@HOST:465",
        )
    return None


def rule_positive(value: float, env: str, _: Mapping[str, Any]) -> tuple[str, str] | None:
    if value <= 0:
        return ("is not above 0", "a number above 0")
    return None


def rule_admin_path(value: str, env: str, _: Mapping[str, Any]) -> tuple[str, str] | None:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*/", value):
        return (
            "is not a single lower-case path segment",
            "something like 'staff-7f3a/' (ends with /)",
        )
    return None


POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql", "postgis"}
DATABASE_SCHEMES = POSTGRES_SCHEMES | {"sqlite"}
REDIS_SCHEMES = {"redis", "rediss"}
POOLERS = ("none", "pgbouncer-transaction")
CACHE_SCHEMES = REDIS_SCHEMES | {"locmemcache", "dummycache"}
SMTP_SCHEMES = {"smtp", "smtp+tls", "smtp+ssl", "smtps"}
# outbox://: every email is kept in the database (the ops console's Outbox) and
# printed decoded, so a link copied from the terminal works (rdk/mail.py).
EMAIL_SCHEMES = SMTP_SCHEMES | {"outbox", "consolemail", "filemail", "memorymail", "dummymail"}


# The schema -----------------------------------------------------------------

LOCAL_ONLY = {"local": ""}

SCHEMA: tuple[Var, ...] = (
    Var(
        "SECRET_KEY",
        parse_str,
        "Django's signing key; 50+ random characters outside local.",
        default={"local": DEV_SECRET_KEY},
        rules=(rule_secret_key,),
        expected="at least 50 random characters",
    ),
    Var(
        "SECRET_KEY_FALLBACKS",
        parse_list,
        "Previous SECRET_KEYs, comma-separated: still accepted for sessions, password resets "
        "and signed values while a new SECRET_KEY rolls out (docs/operations.md).",
        default=[],
        rules=(rule_secret_key_fallbacks,),
        expected="previous keys, comma-separated (empty when not rotating)",
    ),
    Var(
        "DEBUG",
        parse_bool,
        "Django debug pages; local only.",
        default={"local": False, "staging": False, "production": False},
        rules=(rule_debug,),
        echo=True,
        expected="true or false",
    ),
    Var(
        "ALLOWED_HOSTS",
        parse_list,
        "Comma-separated host names this deployment answers to.",
        default={"local": ["127.0.0.1", "localhost", "[::1]", "testserver"]},
        rules=(rule_allowed_hosts,),
        expected="comma-separated host names",
    ),
    Var(
        "CSRF_TRUSTED_ORIGINS",
        parse_list,
        "Comma-separated origins (https://shop.example) trusted for unsafe requests.",
        default=[],
        expected="comma-separated origins such as https://realdealkickz.app",
    ),
    Var(
        "DATABASE_URL",
        parse_url,
        "Database connection URL.",
        default={"local": f"sqlite:///{BASE_DIR / 'db.sqlite3'}"},
        rules=(rule_database_url,),
        expected="postgres://USER:PASSWORD@HOST:PORT/NAME",
    ),
    Var(
        "DATABASE_CONN_MAX_AGE",
        parse_int,
        "Seconds a database connection is kept open.",
        default=60,
        rules=(rule_non_negative,),
        echo=True,
        expected="a whole number of seconds",
    ),
    Var(
        "DATABASE_POOLER",
        choice(*POOLERS),
        "What DATABASE_URL points at: PostgreSQL itself (none) or pgbouncer in transaction mode.",
        default="none",
        rules=(rule_database_pooler,),
        echo=True,
        expected=" or ".join(POOLERS),
    ),
    Var(
        "DATABASE_POOLER_PREPARED_STATEMENTS",
        parse_bool,
        "The pooler tracks prepared statements (pgbouncer 1.21+ with max_prepared_statements).",
        default=False,
        echo=True,
        expected="true or false",
    ),
    Var(
        "CACHE_URL",
        parse_url,
        "Shared cache: sessions, rate limits, cache tags, switches.",
        default={"local": "locmemcache://"},
        rules=(rule_cache_url,),
        expected="redis://HOST:PORT/DB",
    ),
    Var(
        "EMAIL_URL",
        parse_url,
        "Outgoing mail; SMTP in production, outbox:// (kept, shown in the ops console) locally.",
        default={"local": "outbox://", "staging": "outbox://"},
        rules=(rule_email_url,),
        expected="smtp+tls://USER:PASSWORD@HOST:587 (or outbox:// outside production)",
    ),
    Var(
        "DEFAULT_FROM_EMAIL",
        parse_str,
        "Sender of shop emails.",
        default="Real Deal Kickz <shop@realdealkickz.app>",
        expected="an email address",
    ),
    Var(
        "SITE_URL",
        parse_url,
        "Public base URL, used in emails and Stripe return URLs.",
        default={"local": "http://127.0.0.1:8000"},
        rules=(rule_site_url,),
        expected="https://realdealkickz.app",
    ),
    Var(
        "STRIPE_SECRET_KEY",
        parse_str,
        "Stripe secret or restricted key.",
        default={"local": STANDIN_SECRET_KEY},
        rules=(rule_stripe_secret_key,),
        expected="sk_test_… (local, staging) or sk_live_… (production)",
    ),
    Var(
        "STRIPE_PUBLISHABLE_KEY",
        parse_str,
        "Stripe publishable key.",
        default={"local": STANDIN_PUBLISHABLE_KEY, "staging": "", "production": ""},
        rules=(rule_stripe_publishable_key,),
        expected="pk_test_… or pk_live_…",
    ),
    Var(
        "STRIPE_WEBHOOK_SECRETS",
        parse_list,
        "Webhook signing secrets, comma-separated; list old and new while rotating.",
        default={"local": [STANDIN_WEBHOOK_SECRET]},
        rules=(rule_webhook_secrets,),
        expected="whsec_…[,whsec_…]",
    ),
    Var(
        "STRIPE_API_BASE",
        parse_url,
        "Base address of Stripe's API; the local stand-in by default when no key is set locally.",
        default="",
        rules=(rule_stripe_api_base,),
        expected="http://127.0.0.1:12111 or unset",
    ),
    Var(
        "SENTRY_DSN",
        parse_url,
        "Sentry project DSN; errors are reported only when set.",
        default={"local": "", "staging": ""},
        rules=(rule_sentry_dsn,),
        expected="https://KEY@HOST/PROJECT",
    ),
    Var(
        "SENTRY_TRACES_SAMPLE_RATE",
        parse_float,
        "Share of requests traced in Sentry.",
        default=0.0,
        rules=(rule_fraction,),
        echo=True,
        expected="a number between 0 and 1",
    ),
    Var(
        "RDK_RELEASE",
        parse_str,
        "Release name for Sentry and logs; `git describe` when unset.",
        default="",
        echo=True,
        expected="a release tag such as v0.3.1",
    ),
    Var(
        "RDK_LOG_FORMAT",
        choice("json", "console"),
        "json (one object per line) or console.",
        default="json",
        echo=True,
        expected="json or console",
    ),
    Var(
        "RDK_LOG_LEVEL",
        choice("debug", "info", "warning", "error"),
        "Lowest level logged.",
        default="info",
        echo=True,
        expected="debug, info, warning or error",
    ),
    Var(
        "RDK_SLOW_REQUEST_MS",
        parse_int,
        "A request slower than this is logged as request.slow with its request id "
        "(0 turns it off).",
        default=1000,
        rules=(rule_non_negative,),
        echo=True,
        expected="a whole number of milliseconds",
    ),
    Var(
        "RDK_SLOW_QUERY_MS",
        parse_int,
        "A database query slower than this is logged as query.slow with its request id "
        "(0 turns it off).",
        default=200,
        rules=(rule_non_negative,),
        echo=True,
        expected="a whole number of milliseconds",
    ),
    Var(
        "RDK_ADMIN_PATH",
        parse_str,
        "URL path of the staff admin.",
        default="admin/",
        rules=(rule_admin_path,),
        echo=True,
        expected="a path segment ending in /",
    ),
    Var(
        "LOG_REDACT_PARAMS",
        parse_list,
        "Comma-separated query parameters whose values are redacted in logs and error "
        "reports, besides the built-in ones (session_id, token, …; docs/security.md).",
        default=[],
        echo=True,
        expected="comma-separated parameter names such as invite,ref_token",
    ),
    Var(
        "TRUSTED_PROXY_COUNT",
        parse_int,
        "How many proxies in front of RDK append to X-Forwarded-For (0: use the socket address).",
        default=0,
        rules=(rule_non_negative,),
        echo=True,
        expected="0 or more",
    ),
    Var(
        "MEDIA_ROOT",
        parse_str,
        "Where uploaded product images are stored.",
        default=str(BASE_DIR / "var" / "media"),
        echo=True,
        expected="a directory path",
    ),
    Var(
        "STATIC_ROOT",
        parse_str,
        "Where collectstatic gathers static files.",
        default=str(BASE_DIR / "var" / "static"),
        echo=True,
        expected="a directory path",
    ),
    Var(
        "SNAPSHOT_DIR",
        parse_str,
        "Where database snapshots are written.",
        default=str(BASE_DIR / "var" / "snapshots"),
        echo=True,
        expected="a directory path",
    ),
    Var(
        "RATE_LIMITS",
        parse_rate_limits,
        "Rate-limit overrides by name (see docs/security.md), e.g. signin_ip=10/m,api_ip=300/m.",
        default={name: {} for name in ENVIRONMENTS},
        echo=True,
        expected="comma-separated name=N/period (10/m, 100/h, 5/15m), names from rdk/ratelimits.py",
    ),
    Var(
        "ORDERS_RESERVATION_MINUTES",
        parse_int,
        "Minutes a checkout holds its pairs before they are released (Checkout Session expiry).",
        default=30,
        rules=(rule_non_negative,),
        echo=True,
        expected="a whole number of minutes, 30 by default",
    ),
    Var(
        "ORDERS_PURCHASE_LIMIT_DAYS",
        parse_int,
        "Days over which a product's per-size limit counts a shopper's open and paid orders "
        "(0: only the cart).",
        default=30,
        rules=(rule_non_negative,),
        echo=True,
        expected="a whole number of days, 30 by default",
    ),
    Var(
        "SNAPSHOT_MAX_AGE_HOURS",
        parse_int,
        "Hours after which `snapshot verify` and /jobs/health call the latest snapshot stale.",
        default=26,
        rules=(rule_non_negative,),
        echo=True,
        expected="a whole number of hours",
    ),
    Var(
        "TASKS_BACKEND",
        choice("database", "immediate"),
        "Where background tasks run: database (a queue in the database, run by "
        "`manage.py tasks_worker`) or immediate (inside the caller, for tests only).",
        default="database",
        echo=True,
        expected="database or immediate",
    ),
    Var(
        "TASKS_RETRY_BASE_SECONDS",
        parse_int,
        "Seconds before a task that failed on a transient error runs again; doubles each try.",
        default=30,
        rules=(rule_non_negative,),
        echo=True,
        expected="a whole number of seconds",
    ),
    Var(
        "STRIPE_RECONCILE_APPLY",
        parse_bool,
        "Whether the hourly Stripe reconcile marks paid sessions' orders paid (else: report).",
        default=False,
        echo=True,
        expected="true or false",
    ),
    Var(
        "EMAIL_TASK_ORPHANED_SECONDS",
        parse_int,
        "An email task still running after this long belonged to a worker that died; "
        "it is queued again on its own. Keep it above the SMTP timeout (30 s).",
        default=600,
        rules=(rule_non_negative,),
        echo=True,
        expected="a whole number of seconds",
    ),
    Var(
        "JOBS_HEALTH_QUEUE_DEPTH_MAX",
        parse_int,
        "/jobs/health fails when more tasks than this are waiting to run.",
        default=500,
        rules=(rule_non_negative,),
        echo=True,
        expected="a whole number",
    ),
    Var(
        "JOBS_HEALTH_QUEUE_AGE_MINUTES",
        parse_int,
        "/jobs/health fails when a task has waited to run for longer than this.",
        default=5,
        rules=(rule_non_negative,),
        echo=True,
        expected="a whole number of minutes",
    ),
    Var(
        "JOBS_HEALTH_FAILED_TASKS_MAX",
        parse_int,
        "/jobs/health fails when more tasks than this have failed and were not retried.",
        default=0,
        rules=(rule_non_negative,),
        echo=True,
        expected="a whole number",
    ),
    Var(
        "JOBS_HEALTH_RUNNING_MAX_MINUTES",
        parse_int,
        "/jobs/health fails when a task runs longer than this (its worker may have died).",
        default=120,
        rules=(rule_non_negative,),
        echo=True,
        expected="a whole number of minutes",
    ),
    Var(
        "JOBS_HEALTH_SCHEDULE_SLACK",
        parse_float,
        "A scheduled task is late when its last success is older than this many of its periods.",
        default=2.0,
        rules=(rule_positive,),
        echo=True,
        expected="a number above 0, 2 by default",
    ),
    Var(
        "FUNNEL_FLUSH_SECONDS",
        parse_int,
        "Seconds a process buffers product-view counts before writing them to PostgreSQL.",
        default=30,
        rules=(rule_non_negative,),
        echo=True,
        expected="a whole number of seconds",
    ),
    Var(
        "FUNNEL_ALERT_PAID_PERCENT",
        parse_int,
        "The ops home alerts when paid / handed to Stripe in the last hour falls below this.",
        default=50,
        rules=(rule_percent,),
        echo=True,
        expected="a percentage between 0 and 100",
    ),
    Var(
        "FUNNEL_ALERT_MIN_HANDOVERS",
        parse_int,
        "Hand-overs to Stripe in the last hour below which the paid-rate alert stays quiet.",
        default=5,
        rules=(rule_non_negative,),
        echo=True,
        expected="a whole number",
    ),
)

SCHEMA_BY_NAME = {var.name: var for var in SCHEMA}


@dataclass
class Config:
    env: str
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    @property
    def ok(self) -> bool:
        return not self.problems


def load(source: Mapping[str, str] | None = None, *, env: str | None = None) -> Config:
    """Parse and check every variable of `SCHEMA` from `source` (the process
    environment by default). Never raises for bad input: problems are collected."""
    source = os.environ if source is None else source
    problems: list[Problem] = []

    raw_env = env if env is not None else source.get("RDK_ENV", "local")
    rdk_env = (raw_env or "local").strip().lower()
    if rdk_env not in ENVIRONMENTS:
        problems.append(Problem("RDK_ENV", f"is {rdk_env!r}", "local, staging or production"))
        rdk_env = "production"  # validate as strictly as possible

    config = Config(env=rdk_env, problems=problems)
    values = config.values
    for var in SCHEMA:
        raw = source.get(var.name)
        if raw is None or raw.strip() == "":  # empty means unset
            default = var.default_for(rdk_env)
            if default is REQUIRED:
                problems.append(
                    Problem(var.name, f"is missing (required in {rdk_env})", var.expected)
                )
                values[var.name] = None
                continue
            values[var.name] = default
        else:
            try:
                values[var.name] = var.parse(raw)
            except InvalidValue as exc:
                message = str(exc)
                if not var.echo:
                    message = re.sub(r"is '.*?', not", "is not", message)
                problems.append(Problem(var.name, message, var.expected))
                values[var.name] = None
                continue
        for rule in var.rules:
            found = rule(values[var.name], rdk_env, values)
            if found:
                problems.append(Problem(var.name, *found))
                break

    _local_stripe_defaults(config, source)
    explicit = env is not None or bool((source.get("RDK_ENV") or "").strip())
    _local_only_on_purpose(config, source, explicit=explicit)
    return config


def _local_only_on_purpose(config: Config, source: Mapping[str, str], *, explicit: bool) -> None:
    """`local` (the development SECRET_KEY, DEBUG allowed, no HTTPS) is the
    default only for a process on SQLite and local memory. A process pointed at
    PostgreSQL or Redis with no RDK_ENV is a deployment that forgot to say so:
    refused, instead of silently running with the public development key."""
    if explicit or config.env != "local":
        return
    shared = []
    if _scheme(source.get("DATABASE_URL") or "") in POSTGRES_SCHEMES:
        shared.append("DATABASE_URL points at PostgreSQL")
    if _scheme(source.get("CACHE_URL") or "") in REDIS_SCHEMES:
        shared.append("CACHE_URL points at Redis")
    if shared:
        config.problems.append(
            Problem(
                "RDK_ENV",
                f"is not set while {' and '.join(shared)}",
                "RDK_ENV=staging or production (RDK_ENV=local to develop against them)",
            )
        )


def _local_stripe_defaults(config: Config, source: Mapping[str, str]) -> None:
    """Locally, with no Stripe key given, talk to the stand-in; with a real test
    key and no STRIPE_API_BASE, talk to Stripe itself."""
    if (
        config.env == "local"
        and not source.get("STRIPE_SECRET_KEY")
        and not source.get("STRIPE_API_BASE")
    ):
        config.values["STRIPE_API_BASE"] = STANDIN_API_BASE


PREPARE_THRESHOLD = 5  # psycopg's default, which Django overrides with None


def database_settings(
    url: str,
    *,
    conn_max_age: int = 60,
    pooler: str = "none",
    pooler_prepared_statements: bool = False,
) -> dict[str, Any]:
    """Django's `DATABASES["default"]` for `url`, shaped for what it points at.

    Behind pgbouncer in transaction mode (docs/scaling.md), consecutive
    transactions of one Django connection may run on different server
    connections, so nothing may outlive a transaction on the server:

    - no server-side cursors: `.iterator()` would declare a cursor WITH HOLD on
      one server connection and fetch from another;
    - no prepared statements, unless the pooler tracks them per client
      (pgbouncer 1.21+ with `max_prepared_statements`): psycopg prepares a query
      on the server connection it happens to hold and names it on the next;
    - Django keeps its connection to the pooler (`conn_max_age`, health-checked):
      an idle client connection holds no server connection, and re-opening one
      per request would only add a handshake. The pooler bounds and recycles
      the server connections (`default_pool_size`, `server_lifetime`).

    Row security is unaffected: `rdk/rls.py` sets its scope with
    `set_config(…, true)`, which ends with the transaction."""
    config: dict[str, Any] = environ.Env.db_url_config(url)
    config["CONN_MAX_AGE"] = conn_max_age
    config["CONN_HEALTH_CHECKS"] = True
    if config["ENGINE"] != "django.db.backends.postgresql":
        config.setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
        return config
    # Fail fast when the database is down: /readyz must answer, not hang.
    config.setdefault("OPTIONS", {})["connect_timeout"] = 3
    config["TEST"] = {"NAME": f"test_{config['NAME']}"}
    # Prepared statements: psycopg prepares a query the fifth time a connection
    # runs it, and PostgreSQL then plans it once per connection instead of at
    # every execution (planning was up to half of a catalog query's time).
    # Django turns this off unless asked, and only server-side binding can
    # prepare: its client-side cursors send every query as text
    # (docs/performance.md, "Prepared statements").
    config["OPTIONS"]["server_side_binding"] = True
    config["OPTIONS"]["prepare_threshold"] = PREPARE_THRESHOLD
    if pooler == "pgbouncer-transaction":
        config["DISABLE_SERVER_SIDE_CURSORS"] = True
        if not pooler_prepared_statements:
            config["OPTIONS"]["prepare_threshold"] = None
    return config


def cache_settings(url: str) -> dict[str, Any]:
    backend = "django.core.cache.backends.redis.RedisCache"
    if _scheme(url) in REDIS_SCHEMES:
        config: dict[str, Any] = environ.Env.cache_url_config(url, backend=backend)
    else:
        config = environ.Env.cache_url_config(url)
    return config


SMTP_TIMEOUT_SECONDS = 30.0


def mailers_settings(url: str) -> dict[str, Any]:
    """Django 6.1's MAILERS from an EMAIL_URL (smtp://, smtp+tls://, smtps://,
    outbox://, consolemail://, filemail://, memorymail://, dummymail://)."""
    if _scheme(url) == "outbox":
        return {"default": {"BACKEND": "rdk.mail.OutboxConsoleBackend", "OPTIONS": {}}}
    legacy = environ.Env.email_url_config(url)
    options = {
        "host": legacy.get("EMAIL_HOST"),
        "port": legacy.get("EMAIL_PORT"),
        "username": legacy.get("EMAIL_HOST_USER"),
        "password": legacy.get("EMAIL_HOST_PASSWORD"),
        "use_tls": legacy.get("EMAIL_USE_TLS"),
        "use_ssl": legacy.get("EMAIL_USE_SSL"),
        "file_path": legacy.get("EMAIL_FILE_PATH"),
    }
    backend = legacy["EMAIL_BACKEND"]
    if backend.endswith("smtp.EmailBackend"):
        # A send never hangs: the SMTP server has this long to answer each
        # step (?timeout=SECONDS in the URL to change it). It bounds an email
        # task's run, which EMAIL_TASK_ORPHANED_SECONDS must exceed.
        timeout = parse_qs(urlsplit(url).query).get("timeout", [""])[0]
        options["timeout"] = float(timeout) if timeout else SMTP_TIMEOUT_SECONDS
    else:
        keep = ("file_path",) if backend.endswith("filebased.EmailBackend") else ()
        options = {key: options[key] for key in keep}
    if backend.endswith("filebased.EmailBackend"):
        # django-environ drops the leading slash of filemail:///abs/dir; the
        # URL's own host and path are the folder (relative when no third slash).
        parsed = urlsplit(url)
        options["file_path"] = parsed.netloc + parsed.path
    options = {key: value for key, value in options.items() if value not in (None, "")}
    return {"default": {"BACKEND": backend, "OPTIONS": options}}


def read_env_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read KEY=VALUE lines (comments, blank lines, `export`, quotes allowed).

    Raises OSError when the file cannot be read and InvalidValue naming the line
    when one is not an assignment."""
    result: dict[str, str] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        text = text.removeprefix("export ").strip()
        name, sep, value = text.partition("=")
        name = name.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise InvalidValue(f"line {number} is not NAME=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        result[name] = value
    return result


# How each secret rotates without downtime (docs/operations.md, "Secret rotation").
ROTATION = {
    "SECRET_KEY": "SECRET_KEY_FALLBACKS",
    "STRIPE_WEBHOOK_SECRETS": "STRIPE_WEBHOOK_SECRETS",
    "DATABASE_URL": None,
    "CACHE_URL": None,
}
ROTATION_OUTSIDE = {
    "DATABASE_URL": "two login roles acting as one (docs/operations.md)",
    "CACHE_URL": "two passwords on one Redis ACL user (docs/operations.md)",
}


def secret_fallbacks(config: Config) -> list[tuple[str, str]]:
    """(secret, what is accepted besides its current value) for each rotatable
    secret; counts only, never values."""
    lines = []
    for name, fallback in ROTATION.items():
        if fallback == "SECRET_KEY_FALLBACKS":
            previous = len(config.values.get(fallback) or [])
            state = f"{previous} previous key(s) accepted" if previous else "no fallback"
        elif fallback == name:
            accepted = len(config.values.get(name) or [])
            state = f"{accepted} secret(s) accepted" + (
                " (rotating)" if accepted > 1 else ", no fallback"
            )
        else:
            state = f"no fallback in RDK; rotate with {ROTATION_OUTSIDE[name]}"
        lines.append((name, state))
    return lines


def format_problems(config: Config) -> str:
    lines = [f"RDK configuration for RDK_ENV={config.env} has {len(config.problems)} problem(s):"]
    lines += [f"  - {problem}" for problem in config.problems]
    lines.append("See .env.example for every variable and its meaning.")
    return "\n".join(lines)


# Commands whose job is to report problems (or list commands) still run.
REPORTING_COMMANDS = ("envcheck", "help", "--help", "-h", "")


def refuse_misconfigured(config: Config, argv: Sequence[str]) -> None:
    """What every entry point does (manage.py, django-admin, `python -m django`,
    WSGI, ASGI, and anything else loading rdk.settings): stop on problems,
    unless the command is one that reports them."""
    command = argv[1] if len(argv) > 1 else ""
    is_management = Path(argv[0]).name in ("manage.py", "django-admin", "__main__.py")
    if is_management and command in REPORTING_COMMANDS:
        return
    exit_on_problems(config)


def exit_on_problems(config: Config) -> None:
    """At process start (manage.py, WSGI, ASGI): refuse to run misconfigured,
    with the full list instead of a traceback."""
    if config.problems:
        sys.stderr.write(format_problems(config) + "\n")
        raise SystemExit(1)
