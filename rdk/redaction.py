"""Credentials out of logs and error reports.

Some URLs carry a credential: a password-reset link (`…/<uidb64>/<token>/`),
a staff enrolment link (`…/enrol/<token>/`), Stripe's return URL
(`?session_id=cs_…`). Whoever reads the logs or Sentry must not be able to
use them. Before a path or query string is logged or reported:

- in a path, the value of every URL argument named in `SENSITIVE_URL_ARGS`
  becomes `[redacted]` (the view's resolved arguments say which part it is);
- in a query string, the value of every parameter in `SENSITIVE_PARAMS`,
  plus those named in `LOG_REDACT_PARAMS`, becomes `[redacted]`.

The access log (`rdk.requestid`), the rate-limit log and Sentry events
(`rdk.observability`) go through here.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.conf import settings
from django.http import HttpRequest
from django.urls import Resolver404, resolve

REDACTED = "[redacted]"

# URL arguments (names in the URLconf) that are credentials.
SENSITIVE_URL_ARGS = frozenset({"token", "uidb64"})

# Query parameters that are credentials or identify a payment.
SENSITIVE_PARAMS = frozenset(
    {"session_id", "token", "code", "password", "secret", "key", "api_key", "signature"}
)

# Credentials in RDK's URLs are at least 20 characters long: a path with no
# segment that long is not resolved again (the access log runs on every request).
_LONG_SEGMENT = re.compile(r"/[^/]{20,}")


def sensitive_params() -> frozenset[str]:
    extra = getattr(settings, "LOG_REDACT_PARAMS", None) or ()
    return SENSITIVE_PARAMS | {name.strip().lower() for name in extra if name.strip()}


def _redact_args(path: str, kwargs: dict[str, Any]) -> str:
    for name, value in kwargs.items():
        if name in SENSITIVE_URL_ARGS and value:
            path = path.replace(f"/{value}", f"/{REDACTED}")
    return path


def redact_path(request: HttpRequest) -> str:
    """`request.path` with credential URL arguments replaced."""
    path = request.path
    match = getattr(request, "resolver_match", None)
    if match is None:
        if not _LONG_SEGMENT.search(path):
            return path
        try:
            match = resolve(request.path_info, getattr(request, "urlconf", None))
        except Resolver404:
            return path
    return _redact_args(path, match.kwargs)


def redact_url_path(path: str) -> str:
    """The same for a bare path (no request at hand, e.g. a Sentry event)."""
    if not _LONG_SEGMENT.search(path):
        return path
    try:
        match = resolve(path.removeprefix(getattr(settings, "FORCE_SCRIPT_NAME", None) or ""))
    except Resolver404:
        return path
    return _redact_args(path, match.kwargs)


def redact_query(query: str) -> str:
    """A query string with the values of sensitive parameters replaced."""
    if not query:
        return query
    names = sensitive_params()
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(name.lower() in names for name, _ in pairs):
        return query
    return urlencode(
        [(name, REDACTED if name.lower() in names else value) for name, value in pairs],
        safe="[]",
    )
