"""Shop-wide pages: home and the error pages."""

from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token
from django_ratelimit.exceptions import Ratelimited

from rdk.context_processors import shop
from rdk.ratelimits import ratelimited_view


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
    # Rendered without the request's context processors (sessions, messages,
    # the user): the error may be the database itself.
    context = {**shop(request), "request": {"request_id": getattr(request, "request_id", "")}}
    return HttpResponseServerError(loader.get_template("500.html").render(context))


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "400.html", status=400)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    # django-ratelimit's Ratelimited is a PermissionDenied; a rate limit is a 429.
    if isinstance(exception, Ratelimited):
        return ratelimited_view(request, exception)
    return render(request, "403.html", status=403)
