"""Maintenance mode per area: the runbook's "set maintenance mode for the
affected endpoint" (RUNBOOK §2.1 Contain).

Each `maintenance.<area>` switch (rdk.switches) closes a set of path prefixes.
A closed path answers 503 with `Retry-After`: a shop-styled page, or JSON under
/api/. Health endpoints, the Stripe webhook inbox, static and media files and
the admin are never closed, so operators can watch and undo the switch.
The middleware sits right after the request-id middleware: it reads the
switches from the shared cache and touches neither the session nor the database.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

from rdk.lrucache import forget_when_changed
from rdk.switches import switch_states

logger = logging.getLogger(__name__)

# Area switch -> (exact paths, path prefixes). A prefix matches itself and
# anything below it ("/cart" matches "/cart" and "/cart/add", not "/cartoon").
AREAS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "maintenance.catalog": (("/",), ("/products", "/api/v1/products")),
    # The cart page itself stays open (read-only, with a notice) so shoppers
    # see what they hold; changing the cart and checking out are closed.
    "maintenance.checkout": ((), ("/cart/add", "/cart/update", "/cart/remove", "/checkout")),
    "maintenance.account": ((), ("/account",)),
    "maintenance.api": ((), ("/api/v1",)),
}

ALWAYS_OPEN = ("/healthz", "/readyz", "/jobs/health", "/api/stripe/webhook", "/static", "/media")


def _under(path: str, prefix: str) -> bool:
    prefix = prefix.rstrip("/")
    return path == prefix or path.startswith(prefix + "/")


def _always_open(path: str) -> bool:
    admin = "/" + settings.RDK_ADMIN_PATH.strip("/")
    return any(_under(path, prefix) for prefix in (*ALWAYS_OPEN, admin))


@functools.lru_cache(maxsize=2048)
def areas_of(path: str) -> tuple[str, ...]:
    """The maintenance switches that can close `path`, whatever their state.
    Remembered per path (every request asks; a bounded LRU, so odd paths only
    push each other out): matching the prefixes was a tenth of the CPU of a
    page answered from the cache."""
    if _always_open(path):
        return ()
    return tuple(
        name
        for name, (exact, prefixes) in AREAS.items()
        if path in exact or any(_under(path, prefix) for prefix in prefixes)
    )


forget_when_changed("RDK_ADMIN_PATH", areas_of)


def _first_closed(areas: tuple[str, ...], states: dict[str, bool]) -> str | None:
    return next((name for name in areas if states.get(name)), None)


def closed_area(path: str, states: dict[str, bool]) -> str | None:
    """The maintenance switch that closes `path`, or None when it is served."""
    return _first_closed(areas_of(path), states)


def maintenance_response(request: HttpRequest, area: str) -> HttpResponse:
    retry_after = str(settings.MAINTENANCE_RETRY_AFTER)
    if _under(request.path, "/api"):
        response: HttpResponse = JsonResponse(
            {
                "error": "maintenance",
                "message": "This part of Real Deal Kickz is down for maintenance. Try again soon.",
                "retry_after": int(retry_after),
            },
            status=503,
        )
    else:
        html = loader.render_to_string(
            "503.html",
            {"SHOP_NAME": "Real Deal Kickz", "RDK_ENV": settings.RDK_ENV, "area": area},
            request=None,
        )
        response = HttpResponse(html, status=503)
    response["Retry-After"] = retry_after
    response["Cache-Control"] = "no-store"
    return response


class MaintenanceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Paths outside every area (health checks, the webhook, the admin) never
        # read the switches, so they answer even when the database is down.
        areas = areas_of(request.path)
        if not areas:
            return self.get_response(request)
        try:
            states = switch_states()
        except DatabaseError:
            # Fail open: a broken switch store must not close the shop.
            logger.warning("maintenance.switches_unreadable", extra={"path": request.path})
            return self.get_response(request)
        area = _first_closed(areas, states)
        if area is not None:
            logger.info("maintenance.refused", extra={"area": area, "path": request.path})
            return maintenance_response(request, area)
        return self.get_response(request)
