"""Where one request's time goes: per middleware (its own time, without the
layers inside it) and per phase (PostgreSQL, Redis, template rendering, the
rest in Python). `manage.py bench --profile` prints it for docs/performance.md.

Each middleware layer is timed by wrapping the callables Django's handler
chains together (`convert_exception_to_response`), so the figures follow the
real MIDDLEWARE order; the view's layer includes the view middleware hooks."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from unittest import mock

from django.core.handlers import base
from django.db import connection
from django.template import base as template_base
from django.test import Client
from redis.connection import AbstractConnection

Clock = time.perf_counter


class Timings:
    def __init__(self) -> None:
        self.inclusive: dict[str, float] = defaultdict(float)
        self.phases: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)
        self.order: list[str] = []
        self.depth: dict[str, int] = defaultdict(int)

    def layer(self, name: str, call: Callable) -> Callable:
        if name not in self.order:
            self.order.append(name)

        def timed(request):
            started = Clock()
            try:
                return call(request)
            finally:
                self.inclusive[name] += Clock() - started

        return timed

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time a phase once, however deeply it nests (templates include templates)."""
        self.depth[name] += 1
        started = Clock()
        try:
            yield
        finally:
            self.depth[name] -= 1
            if self.depth[name] == 0:
                self.phases[name] += Clock() - started
                self.counts[name] += 1


def _name(handler) -> str:
    if getattr(handler, "__name__", "") == "_get_response":  # the innermost layer
        return "the view (with process_view hooks)"
    kind = type(handler)
    return f"{kind.__module__}.{kind.__qualname__}"


@contextmanager
def _instrumented(timings: Timings) -> Iterator[None]:
    # Django's private handler internals, which the stubs leave out.
    original_convert = base.convert_exception_to_response  # type: ignore[attr-defined]

    def convert(get_response):
        return original_convert(timings.layer(_name(get_response), get_response))

    original_render = template_base.Template.render

    def render(self, context):
        with timings.phase("templates"):
            return original_render(self, context)

    original_send = AbstractConnection.send_packed_command
    original_read = AbstractConnection.read_response

    def send(self, *args, **kwargs):
        with timings.phase("redis send"):
            return original_send(self, *args, **kwargs)

    def read(self, *args, **kwargs):
        with timings.phase("redis"):
            return original_read(self, *args, **kwargs)

    def database(execute, sql, params, many, context):
        with timings.phase("database"):
            return execute(sql, params, many, context)

    with (
        mock.patch.object(base, "convert_exception_to_response", convert),
        mock.patch.object(template_base.Template, "render", render),
        mock.patch.object(AbstractConnection, "send_packed_command", send),
        mock.patch.object(AbstractConnection, "read_response", read),
        connection.execute_wrapper(database),
    ):
        yield


def request_profile(client: Client, path: str, *, repeat: int = 200) -> tuple[list[str], float]:
    """The printed profile of `repeat` GETs of `path` (after one warm-up) and
    the mean milliseconds per request."""
    client.get(path, secure=True)  # warm: templates compiled, connections open
    timings = Timings()
    with _instrumented(timings):
        client.handler._middleware_chain = None  # type: ignore[attr-defined]  # rebuilt, instrumented
        started = Clock()
        for _ in range(repeat):
            response = client.get(path, secure=True)
        total = Clock() - started
    client.handler._middleware_chain = None  # type: ignore[attr-defined]
    per = 1000 / repeat
    lines = [f"{path}: {total * per:.2f} ms per request (status {response.status_code})"]
    lines.append("  per middleware (own time, outermost first):")
    layers = timings.order  # registered innermost first
    outer_to_inner = list(reversed(layers))
    for index, name in enumerate(outer_to_inner):
        inner = outer_to_inner[index + 1] if index + 1 < len(outer_to_inner) else None
        own = timings.inclusive[name] - (timings.inclusive[inner] if inner else 0.0)
        lines.append(f"    {own * per:7.3f} ms  {name}")
    lines.append("  per phase (anywhere in the request):")
    phases = timings.phases
    redis = phases.get("redis", 0.0) + phases.get("redis send", 0.0)
    for label, seconds, count in (
        ("PostgreSQL", phases.get("database", 0.0), "database"),
        ("Redis", redis, "redis"),
        ("templates", phases.get("templates", 0.0), "templates"),
    ):
        times = timings.counts.get(count, 0) / repeat
        lines.append(f"    {seconds * per:7.3f} ms  {label} ({times:.1f} round trips/renders)")
    return lines, total * per
