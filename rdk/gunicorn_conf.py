"""gunicorn's configuration for RDK: every launcher uses it (`rdk.prodlike`,
`make bench`, `make loadtest`, production; docs/operations.md).

    gunicorn -c python:rdk.gunicorn_conf --bind 0.0.0.0:8000 --workers 4

Command-line flags (and `GUNICORN_CMD_ARGS`) override what is set here.

A misconfigured process must refuse to start, at once: without this file the
master kept listening and booted workers that exited on the configuration, over
and over (131 times in 12 s). `on_starting` runs `manage.py check` before the
master binds or forks; on any problem gunicorn prints the same list
`manage.py check` prints and exits with its status.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys

from rdk.env import BASE_DIR

wsgi_app = "rdk.wsgi:application"
bind = ["127.0.0.1:8000"]

# gthread workers: one process per core, threads for requests waiting on
# PostgreSQL, Redis or Stripe. Every thread holds a database connection
# (docs/scaling.md sizes the pooler for it).
workers = multiprocessing.cpu_count()
worker_class = "gthread"
threads = 4

# Timeouts. A worker silent for `timeout` seconds is killed and replaced: no RDK
# request legitimately takes that long (Stripe calls are bounded at 10 s,
# payments/gateway.py; the database connect at 3 s). `graceful_timeout` lets
# requests in flight finish on a restart or deploy; `keepalive` outlives a
# balancer's idle probe.
timeout = 30
graceful_timeout = 20
keepalive = 5

# Worker recycling: a worker is replaced after about this many requests (the
# jitter keeps them from all restarting at once), bounding any slow growth.
# A new worker spends about 1.5 s of CPU loading (rdk/wsgi.py, rdk/warmup.py)
# while its sibling takes the traffic: at 5,000 a worker answering cached pages
# at 1,500 req/s was replaced every 3 s and `make bench` lost a fifth of its
# throughput to it. At 100,000 that is a few percent of one core once a minute
# at full load, and about once a day at the shop's usual rate.
max_requests = 100_000
max_requests_jitter = 10_000

# RDK logs one access line per request itself (rdk.requestid, with the request
# id and user); gunicorn's own access log stays off. Its error log (worker
# starts, timeouts, crashes) goes to stderr.
accesslog = None
errorlog = "-"
loglevel = "warning"


def on_starting(server: object) -> None:
    """Refuse to start on a configuration `manage.py check` rejects. Another
    Django project served with these settings (make bench's bare floor, its own
    DJANGO_SETTINGS_MODULE) is not RDK's to check."""
    if os.environ.get("DJANGO_SETTINGS_MODULE", "rdk.settings") != "rdk.settings":
        return
    result = subprocess.run(  # noqa: S603 (RDK's own manage.py)
        [sys.executable, str(BASE_DIR / "manage.py"), "check", "--fail-level", "ERROR"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stderr or result.stdout)
        sys.stderr.write("gunicorn: RDK's configuration has problems (above); not starting.\n")
        sys.stderr.flush()
        raise SystemExit(result.returncode)
