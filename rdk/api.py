"""The one DRF exception handler: every API error is
`{"error": code, "message": …, "fields": {…}}`; and the API's rate-limit throttle."""

from __future__ import annotations

from typing import Any

from django.utils.cache import add_never_cache_headers
from django_ratelimit.exceptions import Ratelimited
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import exception_handler as drf_exception_handler

from rdk.exceptions import RdkError
from rdk.ratelimits import RAISED_RETRY_AFTER, Exceeded, enforce, log_exceeded


def _fields(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            str(name): [str(item) for item in (value if isinstance(value, list) else [value])]
            for name, value in detail.items()
        }
    return {}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Ratelimited):  # a PermissionDenied, which DRF would make a 403
        log_exceeded(context["request"], Exceeded("django_ratelimit", RAISED_RETRY_AFTER))
        exc = exceptions.Throttled(wait=RAISED_RETRY_AFTER)
    if isinstance(exc, RdkError):
        return Response(
            {"error": exc.code, "message": str(exc), "fields": {}},
            status=status.HTTP_400_BAD_REQUEST,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.Throttled):
        wait = int(exc.wait or RAISED_RETRY_AFTER)
        response["Retry-After"] = str(max(wait, 1))
        add_never_cache_headers(response)
        response.data = {
            "error": "rate_limited",
            "message": f"Too many requests. Try again in {max(wait, 1)} seconds.",
            "fields": {},
        }
        return response
    if isinstance(exc, exceptions.ValidationError):
        fields = _fields(exc.detail)
        message = (
            "Some parameters are not valid."
            if fields
            else "; ".join(
                str(item) for item in (exc.detail if isinstance(exc.detail, list) else [exc.detail])
            )
        )
        code = "invalid"
    else:
        detail = getattr(exc, "detail", None)
        if detail is None:  # Http404 / PermissionDenied: DRF converted a copy
            detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        fields = {}
        message = str(detail)
        code = getattr(detail, "code", None) or "error"
    response.data = {"error": code, "message": message, "fields": fields}
    return response


class RateLimitThrottle(BaseThrottle):
    """DRF throttle over the same table and counters.

    Applies the view's `rate_limits` (default: `api_ip` for visitors, `api_user`
    for signed-in users). DRF answers 429 with `Retry-After`; RDK's exception
    handler words the body as `rate_limited`."""

    default_limits = ("api_ip", "api_user")

    def allow_request(self, request: Any, view: Any) -> bool:
        names = getattr(view, "rate_limits", self.default_limits)
        self.exceeded = enforce(request, *names)
        return self.exceeded is None

    def wait(self) -> float | None:
        return self.exceeded.retry_after if self.exceeded else None
