"""The one DRF exception handler: every API error is
`{"error": code, "message": …, "fields": {…}}`."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from rdk.exceptions import RdkError


def _fields(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            str(name): [str(item) for item in (value if isinstance(value, list) else [value])]
            for name, value in detail.items()
        }
    return {}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RdkError):
        return Response(
            {"error": exc.code, "message": str(exc), "fields": {}},
            status=status.HTTP_400_BAD_REQUEST,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
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
