"""Every rate limit RDK enforces, in one table, and the ways to enforce them.

`LIMITS` names each limit, its default rate, what it counts by (the key
kinds below), which methods it counts and why it exists. `RATE_LIMITS` in the
environment overrides rates by name (`signin_ip=10/m,api_ip=300/m`; see
`parse_overrides`, which `rdk.env` uses to validate it at start-up).

Counting is django-ratelimit's (`get_usage`): fixed windows in the shared
cache (Redis outside local), so every process and host sees the same counts.
Enforcing is ours, so that a refusal is always a 429 with `Retry-After`, never
django-ratelimit's 403:

- `@rate_limit("signin_ip", "signin_account")` on a function view (wrap a
  class-based view with `method_decorator(..., name="dispatch")`); with
  `audit="admin.signin"` a refusal is also an audit entry (below);
- `rdk.api.RateLimitThrottle` for DRF views (the API default; a view may
  name other limits in `rate_limits = (...)`);
- `RatelimitedMiddleware` and `ratelimited_view` turn a raised
  `django_ratelimit.exceptions.Ratelimited` into the same 429.

A refusal renders `templates/429.html` for browsers and
`{"error": "rate_limited", "message": …, "fields": {}}` for `/api/` and for
clients preferring JSON, and logs `ratelimit.exceeded` with the limit's name.
When the shared cache cannot be reached (`rdk.cache` reports the outage), each
limit follows its `when_cache_down` policy: `per-process` limits (sign-in,
sign-up, password reset, TOTP, checkout: the ones standing between an attacker
and a password, an inbox or the stock) keep counting in each process's memory,
so they still hold, only multiplied by the number of processes; `open` limits
(browsing, the cart, the API, Stripe's webhooks) let requests through. An
outage of the counters never becomes an outage of the shop.

A view that checks staff credentials passes `audit=<action>`: a refusal is then
written to the audit log (outcome `rate_limited`, the account name attempted
as actor, the request id, the limit), but only the first refusal of each
counted key (an address, an account name) in each window: the request whose
count is one over the limit. A flood of refused posts thus writes at most one
entry per key per window, and each entry follows at least a limit's worth of
attempts that were already audited one by one.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

from rdk.audit import audit_record
from rdk.cache import RedisCache
from rdk.clientip import client_ip, client_ip_for_records
from rdk.redaction import redact_path

logger = logging.getLogger(__name__)

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Limit:
    name: str
    rate: str
    keys: tuple[str, ...]
    methods: tuple[str, ...] | None  # None: every method
    description: str
    when_cache_down: str = "open"  # or "per-process": see CACHE_DOWN_POLICIES


CACHE_DOWN_POLICIES = {
    "open": "let through",
    "per-process": "counted in each process's memory",
}


# Key kinds: what a limit counts by. A key that does not apply to a request
# (no account name submitted, nobody signed in) counts nothing for it.
KEY_KINDS = {
    "ip": "the client's address (an IPv6 /64 counts as one)",
    "anonymous_ip": "the client's address, for requests from nobody signed in",
    "account": "the submitted username or email, trimmed and case-folded",
    "email": "the submitted email address, trimmed and case-folded",
    "user": "the signed-in user",
    "user_or_ip": "the signed-in user, else the client's address",
    "session_or_ip": "the visitor's session, else the client's address",
}

LIMITS: dict[str, Limit] = {
    limit.name: limit
    for limit in (
        Limit(
            "signin_ip",
            "10/m",
            ("ip",),
            ("POST",),
            "Sign-in attempts from one address: slows password guessing across accounts.",
            when_cache_down="per-process",
        ),
        Limit(
            "signin_account",
            "5/5m",
            ("account",),
            ("POST",),
            "Sign-in attempts naming one account, from anywhere: slows guessing one password.",
            when_cache_down="per-process",
        ),
        Limit(
            "signup_ip",
            "10/h",
            ("ip",),
            ("POST",),
            "Accounts created from one address.",
            when_cache_down="per-process",
        ),
        Limit(
            "password_reset_ip",
            "10/h",
            ("ip",),
            ("POST",),
            "Password-reset requests from one address.",
            when_cache_down="per-process",
        ),
        Limit(
            "password_reset_email",
            "3/h",
            ("email",),
            ("POST",),
            "Password-reset emails to one address: nobody's inbox gets flooded.",
            when_cache_down="per-process",
        ),
        Limit(
            "otp_verify",
            "5/m",
            ("ip", "user"),
            ("POST",),
            "TOTP or backup-code attempts, per address and per staff user: "
            "a six-digit code cannot be guessed.",
            when_cache_down="per-process",
        ),
        Limit(
            "cart",
            "60/m",
            ("session_or_ip",),
            UNSAFE,
            "Cart changes by one visitor.",
        ),
        Limit(
            "checkout",
            "10/m",
            ("user_or_ip",),
            ("POST",),
            "Checkouts started by one shopper: each reserves stock and calls Stripe.",
            when_cache_down="per-process",
        ),
        Limit(
            "api_ip",
            "300/m",
            ("anonymous_ip",),
            None,
            "API requests from one address by anyone not signed in.",
        ),
        Limit(
            "api_user",
            "600/m",
            ("user",),
            None,
            "API requests by one signed-in user.",
        ),
        Limit(
            "webhook",
            "600/m",
            ("ip",),
            ("POST",),
            "Verified webhook deliveries from one address: generous, Stripe's traffic is "
            "never refused. Counted after the signature is checked.",
        ),
        Limit(
            "webhook_rejected",
            "60/m",
            ("ip",),
            ("POST",),
            "Webhook posts whose signature fails, from one address: counted apart, so "
            "unsigned junk cannot use up the deliveries' limit.",
        ),
    )
}

RATE_FORMAT = "N/period with period s, m, h or d, optionally multiplied (10/m, 100/h, 5/15m)"
_RATE = re.compile(r"[1-9][0-9]*/([1-9][0-9]*)?[smhd]")


def is_valid_rate(rate: str) -> bool:
    return bool(_RATE.fullmatch(rate))


def parse_overrides(raw: str) -> dict[str, str]:
    """`signin_ip=10/m,api_ip=300/m` → {"signin_ip": "10/m", "api_ip": "300/m"}.

    Raises ValueError naming every unknown limit, malformed entry and bad rate."""
    overrides: dict[str, str] = {}
    errors: list[str] = []
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        name, sep, rate = (piece.strip() for piece in entry.partition("="))
        if not sep or not name:
            errors.append(f"{entry!r} is not name=rate")
        elif name not in LIMITS:
            errors.append(f"{name!r} is not a limit")
        elif not is_valid_rate(rate):
            errors.append(f"{name} has rate {rate!r}, not {RATE_FORMAT}")
        elif name in overrides:
            errors.append(f"{name} is given twice")
        else:
            overrides[name] = rate
    if errors:
        raise ValueError("; ".join(errors))
    return overrides


def rate_for(name: str) -> str:
    return getattr(settings, "RATE_LIMITS", {}).get(name) or LIMITS[name].rate


# Keys -----------------------------------------------------------------------


def _ip_key(request: HttpRequest) -> str:
    address = ipaddress.ip_address(client_ip(request))
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return str(address)


def _user_pk(request: HttpRequest) -> str | None:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def _submitted(request: HttpRequest, *fields: str) -> str | None:
    if request.method != "POST":
        return None
    for field in fields:
        value = request.POST.get(field, "")
        if isinstance(value, str) and value.strip():
            return value.strip().casefold()
    return None


def _session_or_ip(request: HttpRequest) -> str:
    session = getattr(request, "session", None)
    session_key = getattr(session, "session_key", None)
    return f"session:{session_key}" if session_key else _ip_key(request)


_KEYS: dict[str, Callable[[HttpRequest], str | None]] = {
    "ip": _ip_key,
    "anonymous_ip": lambda request: None if _user_pk(request) else _ip_key(request),
    "account": lambda request: _submitted(request, "username", "email", "login"),
    "email": lambda request: _submitted(request, "email"),
    "user": _user_pk,
    "user_or_ip": lambda request: _user_pk(request) or _ip_key(request),
    "session_or_ip": _session_or_ip,
}


# Enforcing --------------------------------------------------------------------


@dataclass(frozen=True)
class Exceeded:
    limit: str
    retry_after: int
    # The first refusal of one of the request's keys in this window (its count
    # is one over the limit): what an audited view records.
    first: bool = False


def enforce(request: Any, *names: str) -> Exceeded | None:
    """Count this request against each named limit. Returns the exceeded limit
    with the longest wait (and logs it), or None when all allow the request."""
    from django_ratelimit.core import get_usage

    exceeded: list[Exceeded] = []
    for name in names:
        limit = LIMITS[name]
        if limit.methods and request.method not in limit.methods:
            continue
        method = list(limit.methods) if limit.methods else get_usage.ALL
        for kind in limit.keys:
            value = _KEYS[kind](request)
            if value is None:
                continue
            try:
                usage = _shared_usage(request, f"rdk.{name}.{kind}", value, rate_for(name), method)
            except Exception:  # a cache backend that raises instead of degrading
                logger.warning("ratelimit.cache_unavailable", extra={"limit": name}, exc_info=True)
                usage = None
            if usage is None:  # the shared counter could not be read or written
                if limit.when_cache_down == "open":
                    continue
                usage = _per_process_usage(f"rdk.{name}.{kind}", value, rate_for(name))
            if usage and usage["should_limit"]:
                first = usage["count"] == usage["limit"] + 1
                exceeded.append(Exceeded(name, max(int(usage["time_left"]), 1), first))
    if not exceeded:
        return None
    worst = max(exceeded, key=lambda item: item.retry_after)
    worst = replace(worst, first=any(item.first for item in exceeded))
    log_exceeded(request, worst)
    return worst


def _shared_usage(
    request: Any, group: str, value: str, rate: str, method: Any
) -> dict[str, Any] | None:
    """django-ratelimit's fixed-window count of `value` in the shared cache,
    incremented; None when the cache cannot be read or written. On RDK's
    Redis backend the count is one round trip (`rdk.cache.RedisCache.count`)
    under django-ratelimit's own key, where its `get_usage` takes three;
    other backends go through `get_usage`."""
    from django.core.cache import caches
    from django_ratelimit.core import (
        EXPIRATION_FUDGE,
        _get_window,
        _make_cache_key,
        _split_rate,
        get_usage,
        time,
    )

    cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
    if not isinstance(cache, RedisCache) or not getattr(settings, "RATELIMIT_ENABLE", True):
        usage: dict[str, Any] | None = get_usage(
            request,
            group=group,
            key=lambda _group, _request: value,
            rate=rate,
            method=method,
            increment=True,
        )
        return usage
    allowed, period = _split_rate(rate)
    window = _get_window(value, period)
    count = cache.count(
        _make_cache_key(group, window, rate, value, method), timeout=period + EXPIRATION_FUDGE
    )
    if count is None:
        return None
    return {
        "count": count,
        "limit": allowed,
        "should_limit": count > allowed,
        "time_left": window - int(time.time()),
    }


# Counters for `per-process` limits while the shared cache is unreachable.
_fallback_counters = LocMemCache("rdk-ratelimits", {"OPTIONS": {"MAX_ENTRIES": 100_000}})


def _per_process_usage(group: str, value: str, rate: str) -> dict[str, Any]:
    """django-ratelimit's fixed-window count, in this process's memory."""
    from django_ratelimit.core import _split_rate, time

    allowed, period = _split_rate(rate)
    now = int(time.time())
    window_end = now - now % period + period
    key = f"{group}:{value}:{window_end}"
    if _fallback_counters.add(key, 1, period + 1):
        count = 1
    else:
        try:
            count = _fallback_counters.incr(key)
        except ValueError:  # expired in between
            count = 1
    return {
        "count": count,
        "limit": allowed,
        "should_limit": count > allowed,
        "time_left": window_end - now,
    }


def limit_reset(name: str, kind: str, value: str) -> bool:
    """Forget what `value` has used of limit `name` in the current window (an
    operator clearing a locked-out account). True when a counter was there."""
    from django.core.cache import caches
    from django_ratelimit.core import _get_window, _make_cache_key, _split_rate, get_usage

    limit = LIMITS[name]
    rate = rate_for(name)
    method = list(limit.methods) if limit.methods else get_usage.ALL
    window = _get_window(value, _split_rate(rate)[1])
    key = _make_cache_key(f"rdk.{name}.{kind}", window, rate, value, method)
    cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
    return bool(cache.delete(key))


def log_exceeded(request: Any, exceeded: Exceeded) -> None:
    logger.warning(
        "ratelimit.exceeded",
        extra={
            "limit": exceeded.limit,
            "retry_after": exceeded.retry_after,
            "method": request.method,
            "path": redact_path(request),
            "ip": client_ip(request),
        },
    )


def wants_json(request: HttpRequest) -> bool:
    if request.path.startswith("/api/"):
        return True
    return request.get_preferred_type(["text/html", "application/json"]) == "application/json"


def too_many_requests(request: HttpRequest, exceeded: Exceeded) -> HttpResponse:
    """The one 429 answer: a page for browsers, JSON for API clients."""
    seconds = exceeded.retry_after
    if wants_json(request):
        response: HttpResponse = JsonResponse(
            {
                "error": "rate_limited",
                "message": f"Too many requests. Try again in {seconds} seconds.",
                "fields": {},
            },
            status=429,
        )
    else:
        response = render(request, "429.html", {"retry_after": seconds}, status=429)
    response["Retry-After"] = str(seconds)
    add_never_cache_headers(response)
    return response


def _attempted_account(request: HttpRequest) -> str:
    """The account name a refused post named, as typed (trimmed)."""
    for field in ("login", "username", "email"):
        value = request.POST.get(field, "")
        if isinstance(value, str) and value.strip():
            return value.strip()[:150]
    return ""


def _audit_refusal(request: HttpRequest, exceeded: Exceeded, *, action: str) -> None:
    """An audit entry for a refused credential check, if it is the first
    refusal of one of its keys in this window (see the module docstring)."""
    if not exceeded.first:
        return
    audit_record(
        action=action,
        actor=_attempted_account(request),
        target=redact_path(request),
        outcome="rate_limited",
        ip=client_ip_for_records(request) or "",
        reason="rate limited",
        limit=exceeded.limit,
        retry_after=exceeded.retry_after,
    )


def rate_limit(
    *names: str, audit: str = ""
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Decorate a function view with the named limits from `LIMITS`; with
    `audit`, a refusal is also audited under that action (`_audit_refusal`)."""
    unknown = [name for name in names if name not in LIMITS]
    if not names or unknown:
        raise ImproperlyConfigured(
            f"rate_limit() needs limit names from rdk.ratelimits.LIMITS; unknown: {unknown}"
        )

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            exceeded = enforce(request, *names)
            if exceeded is not None:
                if audit:
                    _audit_refusal(request, exceeded, action=audit)
                return too_many_requests(request, exceeded)
            return view(request, *args, **kwargs)

        wrapped.rate_limits = names  # type: ignore[attr-defined]
        return wrapped

    return decorator


# A raised django_ratelimit Ratelimited (its own decorator with block=True) is a
# PermissionDenied; it never reaches the 403 page. Its window is unknown here,
# so clients are asked to wait a full minute.
RAISED_RETRY_AFTER = 60


def ratelimited_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """`RATELIMIT_VIEW`, and what the 403 handler answers for a Ratelimited."""
    exceeded = Exceeded(getattr(exception, "limit", "django_ratelimit"), RAISED_RETRY_AFTER)
    log_exceeded(request, exceeded)
    return too_many_requests(request, exceeded)


class RatelimitedMiddleware:
    """Turns a `Ratelimited` raised by a view into a 429."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from django_ratelimit.exceptions import Ratelimited

        if isinstance(exception, Ratelimited):
            return ratelimited_view(request, exception)
        return None


def limits_markdown() -> str:
    """The table in docs/security.md (a test keeps the two in step)."""
    lines = [
        "| limit | default rate | counted by | methods | why | Redis down |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for limit in LIMITS.values():
        keys = "; ".join(KEY_KINDS[kind] for kind in limit.keys)
        methods = ", ".join(limit.methods) if limit.methods else "all"
        lines.append(
            f"| `{limit.name}` | {limit.rate} | {keys} | {methods} | {limit.description} "
            f"| {CACHE_DOWN_POLICIES[limit.when_cache_down]} |"
        )
    return "\n".join(lines)
