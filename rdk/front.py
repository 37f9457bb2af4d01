"""The front door: answers that no middleware can change, given before Django's
handler and middleware chain run (issue 12: "anonymous cache hits should be
answered before middleware that cannot change them runs").

Two kinds of request are answered here, each exactly as the full stack answers
it (same status, body and headers; `tests/rdk/test_front.py` compares them):

- `GET /healthz`: the liveness view itself, with the headers the middleware it
  passes through adds (frame options, Content-Length, the content security
  policy, the security headers);
- an anonymous `GET` of a page the page cache holds (`rdk.pagecache`): the
  response `PageCacheMiddleware` gives on a hit, with the headers the middleware
  above it adds (the security headers).

Both get the request id, the access line and the slow-request report of
`rdk.requestid` and `rdk.slowlog`, and the maintenance switches are read first,
as the full stack does. Anything else goes to Django unchanged: a request with
a session or messages cookie (on any path: the stack may sign a stale session
out or record its activity), another method, a conditional request, a host not
allowed, a plain-HTTP request the stack would redirect, a closed maintenance
area, forced-dynamic rendering, a page not in the cache.

Skipped here, by design: Django's `request_started`/`request_finished` signals
(they recycle database connections, which these answers do not use; the
funnel's buffered flush catches its own database errors and replaces a broken
connection) and the middleware below, none of which has anything to do for a
visitor without cookies."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.csp import ContentSecurityPolicyMiddleware
from django.middleware.security import SecurityMiddleware

from rdk import health, pagecache, requestid, slowlog
from rdk.maintenance import areas_of, closed_area
from rdk.switches import switch_states

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"

StartResponse = Callable[..., Any]
WSGIApplication = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


# The key under which a page-cache entry keeps its answers (rdk.pagecache.page_entry).
ENTRY_ANSWERS = "_front_answers"


@dataclass(frozen=True, slots=True)
class Answer:
    """A response as the front sends it: made once and sent many times."""

    status_code: int
    status_line: str
    headers: tuple[tuple[str, str], ...]
    content: bytes

    @classmethod
    def of(cls, response: HttpResponse) -> Answer:
        return cls(
            status_code=response.status_code,
            status_line=f"{response.status_code} {response.reason_phrase}",
            headers=tuple(response.items()),
            content=response.content,
        )


def _unused(request: HttpRequest) -> HttpResponse:
    raise AssertionError("the front door answers without calling further")


class Front:
    """WSGI middleware in front of Django's handler (rdk/wsgi.py)."""

    def __init__(self, application: WSGIApplication) -> None:
        self.application = application
        self.personal_cookies = (settings.SESSION_COOKIE_NAME, *pagecache.PERSONAL_COOKIES)
        # Django's own middleware, for their response halves only: the headers
        # come from the same code as on the full path.
        self.security = SecurityMiddleware(_unused)
        # Inner to outer, as the full stack applies them to /healthz.
        self.health_layers = (
            XFrameOptionsMiddleware(_unused),
            CommonMiddleware(_unused),
            ContentSecurityPolicyMiddleware(_unused),
            self.security,
        )
        self._health_answer: tuple[tuple[bool, int], Answer] | None = None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "GET" or "HTTP_IF_NONE_MATCH" in environ:
            return self.application(environ, start_response)
        cookies = environ.get("HTTP_COOKIE")
        if cookies and any(name in cookies for name in self.personal_cookies):
            # Signed in, most likely (any mention is enough to pass it on):
            # no request object is built for nothing.
            return self.application(environ, start_response)
        started = time.perf_counter()
        # A copy: the page key makes the query canonical in the request's META.
        request = WSGIRequest(dict(environ))
        request_id = requestid.accept_request_id(request.headers.get(requestid.HEADER))
        with requestid.bound_request_id(request_id):
            try:
                answer = self._answer(request)
            except Exception:  # an optimisation only: the stack answers, and reports, instead
                logger.exception("front.failed", extra={"path": request.path})
                answer = None
            if answer is not None:
                request.request_id = request_id  # type: ignore[attr-defined]  # RDK's attribute
                slowlog.request_timed(request, answer, started, slowlog.Queries())
                requestid.access_log(request, answer, started)
        if answer is None:
            # One id per request: RequestIdMiddleware takes this one.
            environ[requestid.ENVIRON_KEY] = request_id
            return self.application(environ, start_response)
        start_response(answer.status_line, [*answer.headers, (requestid.HEADER, request_id)])
        return [answer.content]

    def _answer(self, request: WSGIRequest) -> Answer | None:
        if not pagecache.is_shareable(request):
            # A session may be signed out or its activity recorded, even on /healthz.
            return None
        if self.security.process_request(request) is not None:
            return None  # the stack redirects it to HTTPS
        try:
            request.get_host()
        except DisallowedHost:
            return None  # the stack answers 400
        if request.path_info == HEALTH_PATH:
            return self._health(request)
        areas = areas_of(request.path)
        if areas:
            try:
                if closed_area(request.path, switch_states()) is not None:
                    return None  # the stack answers 503
            except DatabaseError:
                return None
        found = pagecache.page_entry(request)
        if found is None:
            return None
        spec, entry = found
        # The answer is the same for every request for this entry (the request
        # id is added after), so it is made once per entry and process.
        secure = request.is_secure()
        answers: dict[bool, Answer] = entry.setdefault(ENTRY_ANSWERS, {})
        answer = answers.get(secure)
        if answer is None:
            response = self.security.process_response(
                request, pagecache.hit_response(request, entry)
            )
            answer = answers[secure] = Answer.of(response)
        spec.served(answer)
        return answer

    def _health(self, request: WSGIRequest) -> Answer:
        """The liveness answer, made once a second: its only changing header
        is `Expires` (never_cache: the current time, to the second)."""
        when = (request.is_secure(), int(time.time()))
        cached = self._health_answer
        if cached is not None and cached[0] == when:
            return cached[1]
        response: HttpResponse = health.healthz(request)
        for layer in self.health_layers:
            # Each returns the response it was given (the stubs say HttpResponseBase).
            response = cast(HttpResponse, layer.process_response(request, response))
        answer = Answer.of(response)
        self._health_answer = (when, answer)
        return answer
