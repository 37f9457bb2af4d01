"""Whole-page caching under cache tags (the page half of RDK's ISR), for
anonymous visitors and, as shells with per-visitor slots, for signed-in ones;
plus the HTTP caching headers that go with it.

A request is *shareable* when it is a GET/HEAD that carries no session or
messages cookie: nobody is signed in and there is no cart, so the page holds
nothing personal. Shareable responses are stored under a tagged key, sent with
`Cache-Control: public, s-maxage, stale-while-revalidate` and an ETag, and
answered with 304 when the ETag matches.

The key is built from the path and only the query parameters the page
understands (`page_cache(params=...)`), in a canonical order: `?utm=1` and
`?b=2&a=1` do not make new entries, and the view renders from that canonical
query too, so what it renders is exactly what the key says. A page stores at
most `PAGE_CACHE_MAX_VARIANTS` query variants per TTL window; past that, the
variant is rendered and served but not stored.

Signed-in visitors get the same page from a *shell*: the page rendered once
for nobody in particular, with `{% personal %}` slots (header, messages, CSRF
token; rdk/templatetags/personal.py) left as markers. Each request renders only
the slots and splices them in. The shell is rendered with an anonymous user,
and is not stored when its render touched the CSRF token or set a cookie, so
nothing personal can end up under the shared key. Such responses are marked
`private, no-store`, as is anything rendered per request. The
`cache.force_dynamic` switch turns all page caching off.

A signed-in shopper's *own* pages (their cart, their orders) are cached for
them alone (`PersonalPage`): under a key holding their user id, with the same
slots filled per request, and served only while every version the page was
rendered under is current (the shopper's versions, rdk.usercache; the tags of
what it shows; a time past which it may show something else).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotModified,
    QueryDict,
)
from django.template import RequestContext
from django.template.loader import get_template
from django.urls import Resolver404, resolve
from django.utils.cache import patch_vary_headers

from rdk.cachetags import tag_versions, tagged_key
from rdk.lrucache import forget_when_changed
from rdk.requestid import Answered
from rdk.rls import rls_scope
from rdk.switches import switch_is_on

logger = logging.getLogger(__name__)

PAGE_TTL = 600
S_MAXAGE = 60
STALE_WHILE_REVALIDATE = 300
PERSONAL_COOKIES = ("messages",)
STORED_HEADERS = ("Content-Type", "Content-Language")

LOCAL_ENTRIES = 256
PERSONAL_PREFIX = "rdk/personal/"
# Autoescaping turns "<" in any data into "&lt;", so no catalog text can forge one.
_SLOT = "<!--rdk:slot:{}-->"
_SLOT_SPLIT = re.compile(r"<!--rdk:slot:(" + re.escape(PERSONAL_PREFIX) + r"[\w/.-]+)-->")

Tags = Iterable[str] | Callable[..., Iterable[str]]
View = Callable[..., HttpResponse]


class _LocalEntries:
    """A small per-process copy of page entries, keyed by the tagged key.

    Safe because a tagged key embeds the current tag versions: after a
    revalidation the key changes and the stale copy is simply never asked for
    again. Saves the shared-cache round trip that carries the page body."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> dict[str, Any] | None:
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

    def set(self, key: str, entry: dict[str, Any], ttl: int) -> None:
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


def is_rendering_shell(request: HttpRequest | None) -> bool:
    return getattr(request, "_rdk_shell", False)


def slot_marker(name: str) -> str:
    return _SLOT.format(name)


def shell_fill(parts: list[str], request: HttpRequest, extra: dict[str, Any] | None = None) -> str:
    """The shell's text with each slot (odd items of `parts`) rendered for this
    request, all in one context (the context processors run once, not per
    slot; `extra` over them), and each distinct slot once: a form's CSRF token
    is the same in every form of the page."""
    names = list(dict.fromkeys(parts[1::2]))
    if not names:
        return parts[0]
    # The Django backend's template wraps the engine's (`.template`), whose
    # render takes a Context: the slots share one.
    slots = [get_template(name).template for name in names]  # type: ignore[attr-defined]
    context = RequestContext(request, autoescape=slots[0].engine.autoescape)
    with context.bind_template(slots[0]), context.update(extra or {}):
        rendered = {name: slot.render(context) for name, slot in zip(names, slots, strict=True)}
    return "".join(part if index % 2 == 0 else rendered[part] for index, part in enumerate(parts))


def canonical_query(request: HttpRequest, params: tuple[str, ...]) -> QueryDict:
    """The understood parameters of the request's query, sorted by name;
    everything else dropped. A parameter's values keep their order: the view
    may name them by position (the API's "Item 2: …" errors)."""
    query = QueryDict(mutable=True)
    for name in sorted(params):
        values = request.GET.getlist(name)
        if values:
            query.setlist(name, values)
    query._mutable = False
    return query


def caching_disabled() -> bool:
    return switch_is_on("cache.force_dynamic")


def public_cache_control() -> str:
    return (
        f"public, max-age=0, s-maxage={S_MAXAGE}, stale-while-revalidate={STALE_WHILE_REVALIDATE}"
    )


def mark_private[R: HttpResponseBase](response: R) -> R:
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


def _shared_response(request: HttpRequest, entry: dict[str, Any], *, hit: bool) -> HttpResponse:
    etag = entry["etag"]
    if _etag_matches(request, etag):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(entry["content"], status=entry["status"])
        for name, value in entry["headers"].items():
            response[name] = value
        response["Content-Length"] = str(len(entry["content"]))
    response["ETag"] = etag
    response["Cache-Control"] = public_cache_control()
    response["X-RDK-Cache"] = "hit" if hit else "miss"
    patch_vary_headers(response, ["Cookie"])
    return response


class PageSpec:
    """How one view's pages are cached: a name, tags (or a function of the URL's
    keyword arguments giving them), a TTL, the query parameters it reads, and
    what to call whenever one of its pages is served (rendered or from the
    cache), e.g. a funnel counter."""

    def __init__(
        self,
        name: str,
        tags: Tags,
        ttl: int,
        params: tuple[str, ...] = (),
        on_serve: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.tags = tags
        self.ttl = ttl
        self.params = params
        self.on_serve = on_serve

    def served[R: Answered](self, response: R) -> R:
        if self.on_serve is not None and response.status_code in (200, 304):
            self.on_serve()
        return response

    def canonicalize(self, request: HttpRequest) -> str:
        """Make the request's query canonical (the view renders from it) and
        return it encoded, for the key."""
        if request.GET:
            # Django lets a request's GET be replaced; the stubs type it read-only.
            request.GET = canonical_query(request, self.params)  # type: ignore[assignment]
            # Links the page builds from the full path (pagination) match the key too.
            request.META["QUERY_STRING"] = request.GET.urlencode()
        return request.GET.urlencode()

    def key(self, request: HttpRequest, kwargs: dict[str, Any], *, kind: str = "page") -> str:
        """The entry's key: `kind` "page" for the public page, "shell" for the
        signed-in visitors' shell."""
        tags = list(self.tags(**kwargs) if callable(self.tags) else self.tags)
        query = self.canonicalize(request)
        return tagged_key(f"{kind}:{self.name}", tags, request.path, query)

    def may_store(self, request: HttpRequest) -> bool:
        """False once this page stored its share of query variants for the
        current window: junk queries cannot fill the cache."""
        if not request.GET:
            return True  # the page itself, one entry
        window = int(time.time() // self.ttl)
        path = hashlib.blake2b(request.path.encode(), digest_size=8).hexdigest()
        counter = f"pagevariants:{self.name}:{path}:{window}"
        cache.add(counter, 0, self.ttl * 2)
        try:
            stored = cache.incr(counter)
        except ValueError:  # expired between add and incr
            return False
        if stored > settings.PAGE_CACHE_MAX_VARIANTS:
            if stored == settings.PAGE_CACHE_MAX_VARIANTS + 1:
                logger.warning(
                    "pagecache.variants_full", extra={"page": self.name, "path": request.path}
                )
            return False
        return True

    def lookup(self, key: str) -> dict[str, Any] | None:
        entry = local_entries.get(key)
        if entry is None:
            entry = cache.get(key)
            if entry is not None:
                # The shared entry's remaining TTL is unknown; keep the copy briefly.
                local_entries.set(key, entry, min(self.ttl, S_MAXAGE))
        return entry

    def store(self, key: str, entry: dict[str, Any], request: HttpRequest) -> None:
        if not self.may_store(request):
            return
        cache.set(key, entry, self.ttl)
        local_entries.set(key, entry, min(self.ttl, S_MAXAGE))

    def shell_response(
        self, request: HttpRequest, view: View, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> HttpResponse:
        """A signed-in visitor's page: the shared shell with their slots filled."""
        key = self.key(request, kwargs, kind="shell")
        entry = self.lookup(key)
        if entry is None:
            entry = self._render_shell(request, view, args, kwargs)
            if entry is None:  # not shareable after all: render it for this visitor
                return mark_private(view(request, *args, **kwargs))
            self.store(key, entry, request)
        response = HttpResponse(shell_fill(entry["parts"], request), status=entry["status"])
        for name, value in entry["headers"].items():
            response[name] = value
        return mark_private(response)

    def _render_shell(
        self, request: HttpRequest, view: View, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> dict[str, Any] | None:
        user = request.user
        request.user = AnonymousUser()
        try:
            response, touched_csrf = _render_with_slots(
                request, lambda: view(request, *args, **kwargs)
            )
        finally:
            request.user = user
        if response.status_code != 200 or response.streaming or response.cookies or touched_csrf:
            if touched_csrf:
                logger.warning("pagecache.shell_personal", extra={"page": self.name})
            return None
        return _shell_entry(response)


def _render_with_slots(
    request: HttpRequest, render: Callable[[], HttpResponse]
) -> tuple[HttpResponse, bool]:
    """`render()` with `{% personal %}` tags writing slot markers, and whether
    it touched the CSRF token (then it holds one outside the slots)."""
    csrf_before = request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
    request._rdk_shell = True  # type: ignore[attr-defined]
    try:
        response = render()
        if hasattr(response, "render") and not getattr(response, "is_rendered", True):
            response.render()
    finally:
        request._rdk_shell = False  # type: ignore[attr-defined]
    return response, request.META.get("CSRF_COOKIE_NEEDS_UPDATE") != csrf_before


def _shell_entry(response: HttpResponse) -> dict[str, Any]:
    return {
        "parts": _SLOT_SPLIT.split(response.content.decode(response.charset)),
        "status": response.status_code,
        "headers": {h: response[h] for h in STORED_HEADERS if h in response},
    }


def page_cache(
    tags: Tags,
    *,
    name: str | None = None,
    ttl: int = PAGE_TTL,
    params: Iterable[str] = (),
    on_serve: Callable[[], None] | None = None,
) -> Callable[[View], View]:
    """Serve a view's page from the shared cache: whole for shareable requests,
    as a shell with personal slots for signed-in ones.

    `tags` is a list of tags or a function of the view's keyword arguments
    returning them (`lambda slug: ["catalog", ...]`); `params` names the query
    parameters the view reads (the others are ignored). Only 200 responses
    that set no cookie are stored. `PageCacheMiddleware` serves stored pages
    before sessions, CSRF and auth run; without it the decorator serves them
    itself. Such views read no shopper rows, so they run outside the request's
    row-security transaction (the header's cart count opens its own).
    `on_serve` is called for every 200/304 page served, from the cache or not:
    the view itself runs on misses only, so it cannot count views."""

    def decorator(view: View) -> View:
        spec = PageSpec(
            name or f"{view.__module__}.{view.__name__}", tags, ttl, tuple(params), on_serve
        )

        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            return spec.served(serve(request, *args, **kwargs))

        def serve(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if caching_disabled():
                response = view(request, *args, **kwargs)
                if not is_shareable(request):
                    return mark_private(response)
                response["Cache-Control"] = "no-cache"
                response["X-RDK-Cache"] = "bypass"
                return response
            if not is_shareable(request):
                if request.method in ("GET", "HEAD"):
                    return spec.shell_response(request, view, args, kwargs)
                return mark_private(view(request, *args, **kwargs))
            key: str | None = getattr(request, "_rdk_page_key", None)
            by_middleware = key is not None
            if key is None:  # the middleware did not look already
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
                request._rdk_page_stored = (spec, key, entry)  # type: ignore[attr-defined]
            else:
                spec.store(key, entry, request)
            return _shared_response(request, entry, hit=False)

        wrapped.page_cache_spec = spec  # type: ignore[attr-defined]  # marks on the function
        wrapped.rls_request_exempt = True  # type: ignore[attr-defined]
        return wrapped

    return decorator


def page_entry(request: HttpRequest) -> tuple[PageSpec, dict[str, Any]] | None:
    """The stored entry for a shareable request of a page-cached view, with
    its spec; None otherwise. On a miss the request remembers the key, for the
    view to render under and `PageCacheMiddleware` to store under.

    An entry is shared by the requests of this process (the per-process copy):
    read it, never change it, except for keys starting with "_", which callers
    may use to keep what they derive from it (`rdk.front` keeps its answer)."""
    if not is_shareable(request):
        return None
    found = _page_spec_for(request.path_info)
    if found is None or caching_disabled():
        return None
    spec, kwargs = found
    key = spec.key(request, dict(kwargs))
    entry = spec.lookup(key)
    if entry is None:
        request._rdk_page_key = key  # type: ignore[attr-defined]  # read by the view
        return None
    return spec, entry


def hit_response(request: HttpRequest, entry: dict[str, Any]) -> HttpResponse:
    """The response a stored page is served with (a 304 when it matches)."""
    return _shared_response(request, entry, hit=True)


def page_hit(request: HttpRequest) -> HttpResponse | None:
    """The stored page for a shareable request of a page-cached view, as served
    on a hit; None otherwise (see `page_entry`)."""
    found = page_entry(request)
    if found is None:
        return None
    spec, entry = found
    return spec.served(hit_response(request, entry))


@functools.lru_cache(maxsize=2048)
def _page_spec_for(path_info: str) -> tuple[PageSpec, tuple[tuple[str, Any], ...]] | None:
    """The page-cached view's spec and URL arguments for `path_info`, or None.
    Remembered per path (a bounded LRU): resolving the URL was the largest
    part of a cache hit's CPU after the response itself."""
    try:
        match = resolve(path_info)
    except Resolver404:
        return None
    spec: PageSpec | None = getattr(match.func, "page_cache_spec", None)
    return None if spec is None else (spec, tuple(match.kwargs.items()))


forget_when_changed("ROOT_URLCONF", _page_spec_for)


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
    """Serves stored anonymous pages early, before the content security policy,
    sessions, CSRF, auth and messages run: those have nothing to do for a
    visitor without cookies.

    On a miss the view renders the page (`page_cache`) and this middleware
    stores it on the way out, once, with the headers that middleware below it
    set (frame options, the content security policy), so a page served from
    the cache carries the same headers as a rendered one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        hit = page_hit(request)
        if hit is not None:
            return hit
        response = self.get_response(request)
        stored = getattr(request, "_rdk_page_stored", None)
        # A policy with a nonce belongs to one response; such a page is not shared.
        nonce = "'nonce-" in response.get("Content-Security-Policy", "")
        if stored is not None and response.status_code in (200, 304) and not nonce:
            spec, key, entry = stored
            # The view's stored headers win: a 304 answer carries no Content-Type.
            headers = {
                name: value for name, value in response.items() if name.lower() not in _NOT_STORED
            }
            spec.store(key, {**entry, "headers": {**headers, **entry["headers"]}}, request)
        return response


# A shopper's own pages ---------------------------------------------------------

PERSONAL_TTL = 300  # bounds what a change outside the bumped paths could leave stale
local_personal = _LocalEntries(LOCAL_ENTRIES)


@dataclass(frozen=True)
class PersonalRender:
    """One render of a shopper's own page (`PersonalPage.serve`) and what it
    may be kept under besides the versions given to `serve`.

    `tags`: the cache tags of what the page shows, with the versions read
    *before* the page read its data (`rdk.cachetags.tag_versions`), so a
    change committed after that read gives a tag a version the entry does not
    have. `until`: a Unix time past which the page may show something else by
    itself (a hold expiring). `extra`: what the slots need from the page
    (the header's count on the cart page). `storable` False: serve it, keep
    nothing (the render corrected the data it shows)."""

    response: HttpResponse
    tags: dict[str, int] = field(default_factory=dict)
    until: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    storable: bool = True


class PersonalPage:
    """A page that is one signed-in shopper's own (their cart, their orders),
    kept for them alone: under `personal:<name>:<user id>`, one entry per
    shopper and page, with the same slots as a shell (header, messages, CSRF
    token) filled per request.

    An entry is served only to the user it was rendered for, and only while
    the versions it was rendered under are the current ones: the `versions`
    the view passes (the shopper's, rdk.usercache, read when the request
    began; switches), the `tags` of the render, its `until`, at most `ttl`
    seconds. The page's data is read only on a miss, so the shopper's
    row-security scope is opened on a miss only (the view is
    `rls_request_exempt`), around the render and the slots together. Each
    process keeps a copy of the entries it served (`local_personal`),
    checked against the same current versions: it saves the round trip that
    carries the body, and nothing else."""

    def __init__(self, name: str, *, ttl: int = PERSONAL_TTL) -> None:
        self.name = name
        self.ttl = ttl

    def serve(
        self,
        request: HttpRequest,
        *,
        versions: dict[str, object],
        render: Callable[[], PersonalRender],
    ) -> HttpResponse:
        """The page for the signed-in `request.user`: the entry kept under
        `versions` when it is current, else `render()` (kept when it may be)."""
        user_pk = request.user.pk
        key = f"personal:{self.name}:{user_pk}"
        # A version the cache could not give (None) vouches for nothing.
        usable = user_pk is not None and None not in versions.values() and not caching_disabled()
        entry = self._lookup(key, user_pk, versions) if usable else None
        if entry is not None:
            return _filled(entry, request)
        scoped = getattr(request, "rls_scoped", False)
        with rls_scope(user=request.user):
            # The slots too (the header's count, when not cached) read in it.
            request.rls_scoped = True  # type: ignore[attr-defined]
            try:
                rendered = self._render(request, key, user_pk, versions, render, keep=usable)
                if isinstance(rendered, HttpResponse):
                    return mark_private(rendered)
                return _filled(rendered, request)
            finally:
                request.rls_scoped = scoped  # type: ignore[attr-defined]

    def _lookup(
        self, key: str, user_pk: object, versions: dict[str, object]
    ) -> dict[str, Any] | None:
        now = time.time()
        entry = local_personal.get(key)
        if entry is not None and _current(entry, user_pk, versions, now):
            return entry
        entry = cache.get(key)
        if not isinstance(entry, dict) or not _current(entry, user_pk, versions, now):
            return None
        local_personal.set(key, entry, max(1, min(S_MAXAGE, int(entry["until"] - now))))
        return entry

    def _render(
        self,
        request: HttpRequest,
        key: str,
        user_pk: object,
        versions: dict[str, object],
        render: Callable[[], PersonalRender],
        *,
        keep: bool,
    ) -> dict[str, Any] | HttpResponse:
        """The entry of a fresh render (kept when `keep` and it may be), or the
        response itself when it is no page to keep (a redirect, an error)."""
        results: list[PersonalRender] = []

        def rendered() -> HttpResponse:
            results.append(render())
            return results[0].response

        response, touched_csrf = _render_with_slots(request, rendered)
        if response.status_code != 200 or response.streaming:
            return response
        result = results[0]
        now = time.time()
        until = min(now + self.ttl, result.until if result.until is not None else math.inf)
        entry = {
            **_shell_entry(response),
            "user": user_pk,
            "versions": versions,
            "tags": result.tags,
            "until": until,
            "extra": result.extra,
        }
        if touched_csrf:  # a token outside the slots: for this response only
            logger.warning("pagecache.shell_personal", extra={"page": self.name})
        elif keep and result.storable and not response.cookies and until >= now + 1:
            cache.set(key, entry, math.ceil(until - now))
            local_personal.set(key, entry, max(1, min(S_MAXAGE, int(until - now))))
        return entry


def _filled(entry: dict[str, Any], request: HttpRequest) -> HttpResponse:
    response = HttpResponse(
        shell_fill(entry["parts"], request, entry["extra"]), status=entry["status"]
    )
    for name, value in entry["headers"].items():
        response[name] = value
    return mark_private(response)


def _current(
    entry: dict[str, Any], user_pk: object, versions: dict[str, object], now: float
) -> bool:
    """Whether a shopper's page entry may be served to `user_pk` now."""
    return (
        entry.get("user") == user_pk
        and entry.get("versions") == versions
        and now < entry.get("until", 0)
        and (not entry["tags"] or tag_versions(entry["tags"]) == entry["tags"])
    )


def private_page(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Mark a personal page's responses `private, no-store`."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return mark_private(view(request, *args, **kwargs))

    return wrapped
