"""Request ids: taken from a well-formed inbound `X-Request-ID` or minted, held
in a context variable for every log line, and returned on the response.

The middleware also writes the one access line per request."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse

from rdk.redaction import redact_path

HEADER = "X-Request-ID"
# The id rdk.front minted for a request it passed on to Django.
ENVIRON_KEY = "rdk.request_id"
_VALID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_current: ContextVar[str | None] = ContextVar("rdk_request_id", default=None)

access_logger = logging.getLogger("rdk.access")


def get_request_id() -> str | None:
    return _current.get()


def new_request_id(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex}"


def accept_request_id(candidate: str | None) -> str:
    """The inbound id when it is well-formed, otherwise a fresh one: ids end up
    in logs and headers, so anything else is replaced, never trusted."""
    if candidate and _VALID.fullmatch(candidate):
        return candidate
    return new_request_id()


@contextmanager
def bound_request_id(request_id: str) -> Iterator[str]:
    token = _current.set(request_id)
    try:
        yield request_id
    finally:
        _current.reset(token)


def _user_id(request: HttpRequest) -> int | None:
    user = getattr(request, "user", None)
    try:
        if user is None or not user.is_authenticated:
            return None
    except DatabaseError:  # the access line must not turn a served response into a 500
        return None
    user_id: int | None = user.pk
    return user_id


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request.META.get(ENVIRON_KEY) or accept_request_id(request.headers.get(HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]  # RDK's attribute on the request
        started = time.perf_counter()
        with bound_request_id(request_id):
            response = self.get_response(request)
            response[HEADER] = request_id
            access_log(request, response, started)
        return response


class Answered(Protocol):
    """What the access line and the slow-request report read of a response:
    Django's responses, and the front's prepared answers (rdk/front.py)."""

    @property
    def status_code(self) -> int: ...


def access_log(request: HttpRequest, response: Answered, started: float) -> None:
    """The one access line of a request (at info: free when the level is above it)."""
    if not access_logger.isEnabledFor(logging.INFO):
        return
    access_logger.info(
        "request",
        extra={
            "method": request.method,
            "path": redact_path(request),
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "user_id": _user_id(request),
        },
    )
