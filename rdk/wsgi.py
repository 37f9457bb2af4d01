"""WSGI entry point: refuses to start on a misconfigured environment.

It also keeps the garbage collector off the long-lived part of the process.
A worker's settings, apps, URL patterns and compiled templates live as long as
the process, yet each full pass of the collector walks all of them: about
120,000 objects, a 50-150 ms stall of the worker, which is the whole tail of
the page latency under load. `gc.freeze()` moves them out of the collector's
reach: once when loading ends, once more after the first requests have
set up what they use lazily. A full pass then takes about a millisecond.

Before the worker takes a request it imports every view and compiles the
project's templates (`rdk.warmup`): the first requests of a new worker no
longer wait for them.

In front of Django's handler, `rdk.front.Front` answers /healthz and anonymous
page-cache hits without the middleware chain (rdk/front.py)."""

import gc
import os
from collections.abc import Iterable
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication

from rdk import env

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rdk.settings")
env.exit_on_problems(env.load())

from django.core.wsgi import get_wsgi_application  # noqa: E402

WARMUP_REQUESTS = 200


class FreezeAfterWarmup:
    """Calls `gc.freeze()` once `after` requests have started (a few objects of
    requests in flight at that moment are frozen too: a one-time, bounded cost)."""

    def __init__(self, application: WSGIApplication, *, after: int) -> None:
        self.application = application
        self.remaining = after

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if self.remaining > 0:
            self.remaining -= 1
            if self.remaining == 0:
                gc.freeze()
        return self.application(environ, start_response)


django_application = get_wsgi_application()

from rdk.front import Front  # noqa: E402 (needs the apps loaded)
from rdk.warmup import process_warm  # noqa: E402

process_warm()
gc.freeze()
application = FreezeAfterWarmup(Front(django_application), after=WARMUP_REQUESTS)
