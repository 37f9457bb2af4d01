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
from django.urls import Resolver404, resolve
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


class PageSpec:
    """How one view's pages are cached: a name, tags (or a function of the URL's
    keyword arguments giving them), a TTL, and what to call whenever one of its
    pages is served (rendered or from the cache), e.g. a funnel counter."""

    def __init__(
        self, name: str, tags: Tags, ttl: int, on_serve: Callable[[], None] | None = None
    ) -> None:
        self.name = name
        self.tags = tags
        self.ttl = ttl
        self.on_serve = on_serve

    def served(self, response: HttpResponse) -> HttpResponse:
        if self.on_serve is not None and response.status_code in (200, 304):
            self.on_serve()
        return response

    def key(self, request: HttpRequest, kwargs: dict) -> str:
        tags = list(self.tags(**kwargs) if callable(self.tags) else self.tags)
        return tagged_key("page:" + self.name, tags, request.get_full_path())

    def lookup(self, key: str) -> dict | None:
        entry = local_entries.get(key)
        if entry is None:
            entry = cache.get(key)
            if entry is not None:
                # The shared entry's remaining TTL is unknown; keep the copy briefly.
                local_entries.set(key, entry, min(self.ttl, S_MAXAGE))
        return entry

    def store(self, key: str, entry: dict) -> None:
        cache.set(key, entry, self.ttl)
        local_entries.set(key, entry, min(self.ttl, S_MAXAGE))


def page_cache(
    tags: Tags,
    *,
    name: str | None = None,
    ttl: int = PAGE_TTL,
    on_serve: Callable[[], None] | None = None,
):
    """Serve a view's page from the shared cache for shareable requests.

    `tags` is a list of tags or a function of the view's keyword arguments
    returning them (`lambda slug: ["catalog", ...]`). Only 200 responses that
    set no cookie are stored. `PageCacheMiddleware` serves stored pages before
    sessions, CSRF and auth run; without it the decorator serves them itself.
    `on_serve` is called for every 200/304 page served, from the cache or not:
    the view itself runs on misses only, so it cannot count views."""

    def decorator(view):
        spec = PageSpec(name or f"{view.__module__}.{view.__name__}", tags, ttl, on_serve)

        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            return spec.served(serve(request, *args, **kwargs))

        def serve(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if caching_disabled():
                response = view(request, *args, **kwargs)
                if not is_shareable(request):
                    return mark_private(response)
                response["Cache-Control"] = "no-cache"
                response["X-RDK-Cache"] = "bypass"
                return response
            if not is_shareable(request):
                return mark_private(view(request, *args, **kwargs))
            key = getattr(request, "_rdk_page_key", None)
            by_middleware = key is not None
            if not by_middleware:  # the middleware did not look already
                key = spec.key(request, kwargs)
                entry = spec.lookup(key)
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
            if by_middleware:
                # PageCacheMiddleware stores it once, with the headers the
                # middleware below it adds on the way out.
                request._rdk_page_stored = (spec, key, entry)
            else:
                spec.store(key, entry)
            return _shared_response(request, entry, hit=False)

        wrapped.page_cache_spec = spec
        return wrapped

    return decorator


# Headers that are per response, or that _shared_response sets itself.
_NOT_STORED = {
    "cache-control",
    "etag",
    "vary",
    "x-rdk-cache",
    "x-request-id",
    "date",
    "content-length",
}


class PageCacheMiddleware:
    """Serves stored anonymous pages early, before sessions, CSRF, auth and
    messages run: those have nothing to do for a visitor without cookies.

    On a miss the view renders the page (`page_cache`) and this middleware
    stores it on the way out, once, with the headers that middleware below it
    set (frame options, a content security policy), so a page served from the
    cache carries the same headers as a rendered one."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_shareable(request):
            try:
                match = resolve(request.path_info)
            except Resolver404:
                match = None
            spec = getattr(match.func, "page_cache_spec", None) if match else None
            if spec is not None and not caching_disabled():
                key = spec.key(request, match.kwargs)
                entry = spec.lookup(key)
                if entry is not None:
                    return spec.served(_shared_response(request, entry, hit=True))
                request._rdk_page_key = key
        response = self.get_response(request)
        stored = getattr(request, "_rdk_page_stored", None)
        if stored is not None and response.status_code in (200, 304):
            spec, key, entry = stored
            # The view's stored headers win: a 304 answer carries no Content-Type.
            headers = {
                name: value for name, value in response.items() if name.lower() not in _NOT_STORED
            }
            spec.store(key, {**entry, "headers": {**headers, **entry["headers"]}})
        return response


def private_page(view):
    """Mark a personal page's responses `private, no-store`."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return mark_private(view(request, *args, **kwargs))

    return wrapped
