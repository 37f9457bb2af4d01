"""The WSGI entry point keeps the garbage collector off long-lived objects, and
loads what the first requests would otherwise wait for."""

import os
import subprocess
import sys

from tests.conftest import BASE_DIR

SCRIPT = """
import gc
import rdk.wsgi

loaded = gc.get_freeze_count()
assert loaded > 10_000, loaded
served = []
app = rdk.wsgi.FreezeAfterWarmup(lambda environ, start: served.append(1) or [b""], after=3)
later = [[] for _ in range(5_000)]  # objects made after loading, e.g. compiled templates
app({}, None)
app({}, None)
assert gc.get_freeze_count() == loaded
app({}, None)
assert gc.get_freeze_count() >= loaded + 5_000
frozen = gc.get_freeze_count()
more = [[] for _ in range(5_000)]
app({}, None)
assert gc.get_freeze_count() == frozen  # only once
assert len(served) == 4
print("ok")
"""


def run_fresh(script: str) -> subprocess.CompletedProcess[str]:
    """`script` in a new interpreter: what a gunicorn worker does on loading."""
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        env={**os.environ, "RDK_ENV": "local"},
        timeout=60,
        check=False,
    )


def test_wsgi_freezes_what_loading_and_warmup_created():
    result = run_fresh(SCRIPT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


WARMED_SCRIPT = """
import rdk.wsgi
from django.template import engines
from django.urls import get_resolver
from rdk.warmup import project_template_names

resolver = get_resolver()
assert resolver._populated, "the URL patterns were left to the first request"
loader = engines["django"].engine.template_loaders[0]
cached = {key for key in loader.get_template_cache}
missing = [name for name in project_template_names() if name not in cached]
assert not missing, missing
print(len(cached))
"""


def test_wsgi_loads_the_views_and_compiles_the_templates_before_the_first_request():
    """A new worker (start, deploy, max_requests recycle) answered its first
    requests 250 ms late while Django imported the views (make bench: p99 of
    340–870 ms on rows with a 5 ms median)."""
    result = run_fresh(WARMED_SCRIPT)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 60  # RDK's pages, fragments and emails


def test_every_project_template_compiles():
    from rdk.warmup import process_warm

    warmed = process_warm()
    assert warmed.failed == ()
    assert warmed.templates >= 60
