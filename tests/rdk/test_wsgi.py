"""The WSGI entry point keeps the garbage collector off long-lived objects."""

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


def test_wsgi_freezes_what_loading_and_warmup_created():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        env={**os.environ, "RDK_ENV": "local"},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
