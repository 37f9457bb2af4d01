"""The one DRF exception handler: every API error is
`{"error": code, "message": …, "fields": {…}}`; and the API's rate-limit throttle."""

from __future__ import annotations

from typing import Any

from django.utils.cache import add_never_cache_headers
from django_ratelimit.exceptions import Ratelimited
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import exception_handler as drf_exception_handler

from rdk.exceptions import RdkError
from rdk.ratelimits import RAISED_RETRY_AFTER, Exceeded, enforce, log_exceeded


def _messages(value: Any) -> list[str]:
    """Plain messages from a field's errors; a list field's errors come keyed
    by item index, worded here as "Item 1: …"."""
    if isinstance(value, dict):
        return [
            f"Item {int(index) + 1}: {message}" if str(index).isdigit() else str(message)
            for index, inner in value.items()
            for message in _messages(inner)
        ]
    if isinstance(value, list):
        return [message for item in value for message in _messages(item)]
    return [str(value)]


def _fields(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(name): _messages(value) for name, value in detail.items()}
    return {}


# Every API error body, as the schema documents it (see `error_responses`).
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "string",
            "description": "A stable code: invalid, not_found, rate_limited, …",
        },
        "message": {"type": "string", "description": "What went wrong, in words for people."},
        "fields": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "Per parameter, its problems; empty when not about a parameter.",
        },
    },
    "required": ["error", "message", "fields"],
    "additionalProperties": False,
}
# What rdk.maintenance answers while the API is closed.
MAINTENANCE_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "enum": ["maintenance"]},
        "message": {"type": "string"},
        "retry_after": {"type": "integer", "description": "Seconds; also in Retry-After."},
    },
    "required": ["error", "message", "retry_after"],
    "additionalProperties": False,
}
ERROR_DESCRIPTIONS = {
    400: "A parameter is not valid (`error` is `invalid`; `fields` names each one).",
    404: "No such resource, or a page past the last (`error` is `not_found`).",
    429: "Too many requests (`error` is `rate_limited`); see the Retry-After header.",
}


# Marks a query parameter whose empty value (`?size=`) the server reads as
# absent; `empty_values_hook` turns the mark into OpenAPI's allowEmptyValue.
EMPTY_MEANS_ABSENT = "x-rdk-empty-means-absent"


def empty_values_hook(
    result: dict[str, Any], generator: object, request: object, public: object
) -> dict[str, Any]:
    """drf-spectacular post-processing hook (SPECTACULAR_SETTINGS)."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                if parameter.pop(EMPTY_MEANS_ABSENT, False):
                    parameter["allowEmptyValue"] = True
    return result


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """`extend_schema(responses=…)` entries for the errors an endpoint answers,
    with their body shapes; 429 and 503 apply to every endpoint."""
    responses = {
        code: OpenApiResponse(response=ERROR_SCHEMA, description=ERROR_DESCRIPTIONS[code])
        for code in (*codes, 429)
    }
    responses[503] = OpenApiResponse(
        response=MAINTENANCE_SCHEMA,
        description="The API is closed for maintenance; see the Retry-After header.",
    )
    return responses


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
        # Throttled.__init__ sets `wait`; djangorestframework-stubs 3.18 leave it out.
        wait = int(exc.wait or RAISED_RETRY_AFTER)  # type: ignore[attr-defined]
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
