"""What a web process loads before it takes its first request (rdk/wsgi.py).

Django imports the views behind the URL patterns and compiles each template on
first use. In a gunicorn worker that first use is a request: the first
requests a new worker took (after a start, a deploy or a `max_requests`
recycle) waited about 250 ms for the URL patterns alone, and `make bench`
showed it as a p99 of 340–870 ms on rows whose median was 5 ms. Loading both
here, while gunicorn has not yet handed the worker a connection, moves that
time out of every request; `gc.freeze()` after it then keeps the collector off
all of it (rdk/wsgi.py)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.template import TemplateDoesNotExist, TemplateSyntaxError, engines
from django.urls import get_resolver

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Warmed:
    templates: int
    failed: tuple[str, ...]
    seconds: float


def project_template_names() -> list[str]:
    """Every template under the project's template directories (`templates/`),
    as names the loaders find: RDK's pages, fragments and emails. Django's own
    apps' templates (the admin) are left to compile on first use."""
    names: list[str] = []
    for engine in settings.TEMPLATES:
        for directory in map(Path, engine.get("DIRS", [])):
            names += sorted(
                path.relative_to(directory).as_posix()
                for path in directory.rglob("*")
                if path.suffix in {".html", ".txt", ".xml"} and path.is_file()
            )
    return names


def process_warm() -> Warmed:
    """Import every view (the URL resolver) and compile the project's
    templates into the cached loader. A template that fails to compile is
    logged and left to fail where it is used, as it would have."""
    started = time.perf_counter()
    # Reading the reverse lookup table imports every view (and its forms and
    # serializers) and builds what `reverse()` and `{% url %}` use.
    get_resolver().reverse_dict  # noqa: B018 (read for its side effect)
    engine = engines["django"]
    compiled, failed = 0, []
    for name in project_template_names():
        try:
            engine.get_template(name)
        except (TemplateDoesNotExist, TemplateSyntaxError):
            failed.append(name)
        else:
            compiled += 1
    if failed:
        logger.warning("warmup.templates_failed", extra={"templates": failed})
    return Warmed(templates=compiled, failed=tuple(failed), seconds=time.perf_counter() - started)
