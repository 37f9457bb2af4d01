"""Sentry set-up. Errors go to Sentry only when SENTRY_DSN is set; every event
is tagged with the request id and stripped of personal data."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.transport import Transport

from rdk.redaction import redact_query, redact_url_path
from rdk.requestid import get_request_id

_SCRUBBED_HEADERS = {"cookie", "authorization", "stripe-signature", "x-csrftoken"}


def _before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    request_id = get_request_id()
    if request_id:
        event.setdefault("tags", {})["request_id"] = request_id
    request = event.get("request") or {}
    request.pop("cookies", None)
    request.pop("data", None)
    headers = request.get("headers") or {}
    for name in list(headers):
        if name.lower() in _SCRUBBED_HEADERS:
            headers.pop(name)
    # Tokens in the URL (password reset, enrolment) and in the query (session_id).
    if request.get("url"):
        parts = urlsplit(request["url"])
        request["url"] = urlunsplit(
            parts._replace(path=redact_url_path(parts.path), query=redact_query(parts.query))
        )
    if isinstance(request.get("query_string"), str):
        request["query_string"] = redact_query(request["query_string"])
    return event


def _before_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """SQL breadcrumbs lose their parameters and Redis breadcrumbs their keys:
    both carry session keys (credentials), emails and other personal values."""
    category = crumb.get("category")
    if category == "query":
        crumb.pop("data", None)
    elif category == "redis":
        crumb.pop("data", None)
        crumb["message"] = str(crumb.get("message") or "").split(" ", 1)[0]
    return crumb


def sentry_init(
    *,
    dsn: str,
    environment: str,
    release: str,
    traces_sample_rate: float = 0.0,
    transport: type[Transport] | Transport | None = None,
) -> bool:
    """Initialise sentry-sdk; returns False (and does nothing) without a DSN."""
    if not dsn:
        return False
    options: dict[str, Any] = {
        "dsn": dsn,
        "environment": environment,
        "release": release,
        # sentry-sdk 2.75's successor to send_default_pii=False: no user identity,
        # no request bodies, no local variables (they can hold form input).
        "data_collection": {
            "user_info": False,
            "http_bodies": [],
            "stack_frame_variables": False,
        },
        "max_request_body_size": "never",
        "traces_sample_rate": traces_sample_rate,
        "integrations": [DjangoIntegration()],
        "before_send": _before_send,
        "before_breadcrumb": _before_breadcrumb,
    }
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(**options)
    return True
