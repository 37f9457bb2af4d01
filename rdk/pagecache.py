"""Whole-page caching for anonymous visitors under cache tags (the page half of
RDK's ISR), plus the HTTP caching headers that go with it.

A request is *shareable* when it is a GET/HEAD that carries no session or
messages cookie: nobody is signed in and there is no cart, so the page holds
nothing personal. Shareable responses are stored under a tagged key built from
the path and query string, sent with `Cache-Control: public, s-maxage,
stale-while-revalidate` and an ETag, and answered with 304 when the ETag
matches. Anything else is rendered per request and marked `private, no-store`.
The `cache.force_dynamic` switch turns all page caching off.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers

from rdk.cachetags import tagged_key
from rdk.switches import switch_is_on

logger = logging.getLogger(__name__)

PAGE_TTL = 600
S_MAXAGE = 60
STALE_WHILE_REVALIDATE = 300
PERSONAL_COOKIES = ("messages",)
STORED_HEADERS = ("Content-Type", "Content-Language")

LOCAL_ENTRIES = 256

Tags = Iterable[str] | Callable[..., Iterable[str]]


class _LocalEntries:
    """A small per-process copy of page entries, keyed by the tagged key.

    Safe because a tagged key embeds the current tag versions: after a
    revalidation the key changes and the stale copy is simply never asked for
    again. Saves the shared-cache round trip that carries the page body."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[str, tuple[float, dict]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> dict | None:
        with self.lock:
            found = self.entries.get(key)
            if found is None:
                return None
            expires, entry = found
            if expires < time.monotonic():
                del self.entries[key]
                return None
            self.entries.move_to_end(key)
            return entry

    def set(self, key: str, entry: dict, ttl: int) -> None:
        with self.lock:
            self.entries[key] = (time.monotonic() + ttl, entry)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


local_entries = _LocalEntries(LOCAL_ENTRIES)


def is_shareable(request: HttpRequest) -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    personal = {settings.SESSION_COOKIE_NAME, *PERSONAL_COOKIES}
    return not any(name in request.COOKIES for name in personal)


def caching_disabled() -> bool:
    return switch_is_on("cache.force_dynamic")


def public_cache_control() -> str:
    return (
        f"public, max-age=0, s-maxage={S_MAXAGE}, stale-while-revalidate={STALE_WHILE_REVALIDATE}"
    )


def mark_private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    return response


def _etag(content: bytes) -> str:
    return '"' + hashlib.blake2b(content, digest_size=12).hexdigest() + '"'


def _etag_matches(request: HttpRequest, etag: str) -> bool:
    header = request.headers.get("If-None-Match", "")
    if not header:
        return False
    candidates = {item.strip().removeprefix("W/") for item in header.split(",")}
    return "*" in candidates or etag in candidates


def _shared_response(request: HttpRequest, entry: dict, *, hit: bool) -> HttpResponse:
    etag = entry["etag"]
    if _etag_matches(request, etag):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(entry["content"], status=entry["status"])
        for name, value in entry["headers"].items():
            response[name] = value
    response["ETag"] = etag
    response["Cache-Control"] = public_cache_control()
    response["X-RDK-Cache"] = "hit" if hit else "miss"
    patch_vary_headers(response, ["Cookie"])
    return response


def page_cache(tags: Tags, *, name: str | None = None, ttl: int = PAGE_TTL):
    """Serve a view's page from the shared cache for shareable requests.

    `tags` is a list of tags or a function of the view's keyword arguments
    returning them (`lambda slug: ["catalog", ...]`). Only 200 responses that
    set no cookie are stored."""

    def decorator(view):
        page_name = name or f"{view.__module__}.{view.__name__}"

        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if caching_disabled():
                response = view(request, *args, **kwargs)
                if not is_shareable(request):
                    return mark_private(response)
                response["Cache-Control"] = "no-cache"
                response["X-RDK-Cache"] = "bypass"
                return response
            if not is_shareable(request):
                return mark_private(view(request, *args, **kwargs))
            page_tags = list(tags(**kwargs) if callable(tags) else tags)
            key = tagged_key("page:" + page_name, page_tags, request.get_full_path())
            entry = local_entries.get(key)
            if entry is None:
                entry = cache.get(key)
                if entry is not None:
                    # The shared TTL is not known here; keep the copy briefly.
                    local_entries.set(key, entry, min(ttl, S_MAXAGE))
            if entry is not None:
                return _shared_response(request, entry, hit=True)
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
            personal = response.cookies or request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
            if response.status_code != 200 or personal or response.streaming:
                if response.status_code == 200:
                    return mark_private(response)
                return response
            entry = {
                "content": response.content,
                "status": response.status_code,
                "headers": {h: response[h] for h in STORED_HEADERS if h in response},
                "etag": _etag(response.content),
            }
            cache.set(key, entry, ttl)
            local_entries.set(key, entry, min(ttl, S_MAXAGE))
            return _shared_response(request, entry, hit=False)

        return wrapped

    return decorator


def private_page(view):
    """Mark a personal page's responses `private, no-store`."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return mark_private(view(request, *args, **kwargs))

    return wrapped
