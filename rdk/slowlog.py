"""Slow requests and slow queries, with their request ids (RUNBOOK §8 "slow
queries").

Every database query runs through `SlowQueryWrapper` (installed on each
connection as it opens): one over RDK_SLOW_QUERY_MS is logged as `query.slow`
with its duration and statement. Statements are Django's SQL with placeholders;
parameter values (which may be personal data) are never logged. `SlowRequestMiddleware`
logs a request over RDK_SLOW_REQUEST_MS as `request.slow`, and sends
`slow_request` for a slow request or one that ran a slow query: opsadmin stores
it for the Slow queries page. rdk imports no app, hence the signal.

Both thresholds come from rdk/env.py; 0 turns a log off.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponse

from rdk.requestid import Answered

logger = logging.getLogger(__name__)

slow_request = Signal()

STATEMENT_CHARS = 2000


@dataclass
class Queries:
    """The slow queries of the request being served."""

    count: int = 0
    slowest_ms: float = 0.0
    slowest_sql: str = ""

    def add(self, duration_ms: float, sql: str) -> None:
        self.count += 1
        if duration_ms > self.slowest_ms:
            self.slowest_ms, self.slowest_sql = duration_ms, sql


_current: ContextVar[Queries | None] = ContextVar("rdk_slow_queries", default=None)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


class SlowQueryWrapper:
    """A database execute wrapper timing every query."""

    def __call__(
        self,
        execute: Callable[..., Any],
        sql: str,
        params: Any,
        many: bool,
        context: dict[str, Any],
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            threshold = settings.RDK_SLOW_QUERY_MS
            duration_ms = _ms(started)
            if threshold and duration_ms >= threshold:
                statement = str(sql)[:STATEMENT_CHARS]
                logger.warning(
                    "query.slow",
                    extra={"duration_ms": duration_ms, "sql": statement, "many": many},
                )
                queries = _current.get()
                if queries is not None:
                    queries.add(duration_ms, statement)


_wrapper = SlowQueryWrapper()


def install_query_timer(sender: object, connection: BaseDatabaseWrapper, **kwargs: object) -> None:
    """`connection_created` receiver: time this connection's queries (once)."""
    if _wrapper not in connection.execute_wrappers:
        connection.execute_wrappers.append(_wrapper)


class SlowRequestMiddleware:
    """Logs slow requests and reports them, and requests that ran a slow query."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        queries = Queries()
        token = _current.set(queries)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        request_timed(request, response, started, queries)
        return response


def request_timed(
    request: HttpRequest, response: Answered, started: float, queries: Queries
) -> None:
    """Log and report the request if it was slow or ran a slow query."""
    duration_ms = _ms(started)
    threshold = settings.RDK_SLOW_REQUEST_MS
    slow = bool(threshold) and duration_ms >= threshold
    if slow:
        logger.warning(
            "request.slow",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "slow_queries": queries.count,
            },
        )
    if not (slow or queries.count):
        return
    try:
        slow_request.send(
            sender=None,
            method=request.method,
            path=request.path,
            status=response.status_code,
            duration_ms=duration_ms,
            slow_queries=queries.count,
            slowest_query_ms=queries.slowest_ms,
            slowest_query=queries.slowest_sql,
        )
    except DatabaseError:  # the record is a nicety; the response is already made
        logger.warning("request.slow_not_recorded", exc_info=True)
