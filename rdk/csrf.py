"""A same-origin check for the one form that cannot carry a CSRF token.

Catalog pages are cached whole for visitors without a session (see
DESIGN.md), so the product page's add-to-cart form is rendered once for
everyone and cannot embed a per-visitor CSRF token. `orders:cart_add` is
therefore exempt from the token and protected by this decorator instead:
an unsafe request must carry an `Origin` header (or, when a browser omits it,
a `Referer`) whose scheme and host match the request's own, or one of
`CSRF_TRUSTED_ORIGINS`. Browsers always send `Origin` on cross-site POSTs
and scripts on another site cannot forge it, so a cross-site form can no
longer add to someone's cart; a request with neither header is refused.

Only this view uses it; every other form keeps Django's CSRF token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

logger = logging.getLogger(__name__)

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


def _origin_of(value: str) -> str | None:
    parts = urlsplit(value)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def request_is_same_origin(request: HttpRequest) -> bool:
    """True when the request's Origin (or Referer) is this site or a trusted origin."""
    claimed = request.headers.get("Origin")
    if not claimed or claimed == "null":
        claimed = request.headers.get("Referer", "")
    origin = _origin_of(claimed)
    if origin is None:
        return False
    own = f"{request.scheme}://{request.get_host()}".lower()
    trusted = {o.rstrip("/").lower() for o in settings.CSRF_TRUSTED_ORIGINS}
    return origin == own or origin in trusted


def same_origin_required(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """Exempt `view` from the CSRF token and refuse unsafe cross-origin requests (403)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method not in SAFE_METHODS and not request_is_same_origin(request):
            logger.warning("csrf.cross_origin_refused", extra={"path": request.path})
            return render(request, "403.html", status=403)
        return view(request, *args, **kwargs)

    return csrf_exempt(wrapped)
