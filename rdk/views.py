"""Shop-wide pages: home and the error pages."""

import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import requires_csrf_token
from django_ratelimit.exceptions import Ratelimited

from rdk.context_processors import shop
from rdk.degradations import degradation_report
from rdk.ratelimits import ratelimited_view, wants_json

# What the database driver raises when PostgreSQL is down, restarting or
# unreachable (and for a connection it dropped): the request can succeed later.
DATABASE_UNREACHABLE = (OperationalError, InterfaceError)
DATABASE_DEGRADED_SUMMARY = (
    "PostgreSQL is unreachable: anonymous pages cached in Redis are still served, "
    "everything else answers 503 with Retry-After."
)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "rdk/home.html")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    # A path under /api/ that no route matches (a slug with characters no slug
    # has) answers like every other API error, as openapi.yaml documents.
    if request.path.startswith("/api/"):
        body = {"error": "not_found", "message": "No such API resource.", "fields": {}}
        return JsonResponse(body, status=404)
    return render(request, "404.html", status=404)


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls the 500 handler while it handles the exception.
    if isinstance(sys.exc_info()[1], DATABASE_UNREACHABLE):
        return database_unavailable(request)
    # Rendered without the request's context processors (sessions, messages,
    # the user): the error may be the database itself.
    context = {**shop(request), "request": {"request_id": getattr(request, "request_id", "")}}
    return HttpResponseServerError(loader.get_template("500.html").render(context))


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After, not a 500: the shop is briefly down, not broken.
    Rendered without touching the database (no context processors)."""
    exc = sys.exc_info()[1]
    degradation_report(
        "database", summary=DATABASE_DEGRADED_SUMMARY, reason=f"{type(exc).__name__}: unreachable"
    )
    seconds = settings.DATABASE_UNAVAILABLE_RETRY_AFTER
    if wants_json(request):
        response: HttpResponse = JsonResponse(
            {
                "error": "unavailable",
                "message": f"The shop is briefly unavailable. Try again in {seconds} seconds.",
                "fields": {},
            },
            status=503,
        )
    else:
        context = {
            **shop(request),
            "retry_after": seconds,
            "request_id": getattr(request, "request_id", ""),
        }
        html = loader.get_template("503_unavailable.html").render(context)
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(seconds)
    add_never_cache_headers(response)
    return response


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "400.html", status=400)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    # django-ratelimit's Ratelimited is a PermissionDenied; a rate limit is a 429.
    if isinstance(exception, Ratelimited):
        return ratelimited_view(request, exception)
    return render(request, "403.html", status=403)
