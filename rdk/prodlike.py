"""Running RDK production-like on loopback: gunicorn, staging settings (DEBUG
off, PostgreSQL, Redis, collected static files), for `make loadtest` and any
other tool that measures RDK as it runs in production (`make bench` can share
it: `environment()` for the settings, `gunicorn()` for the processes; from a
shell, `eval "$(python -m rdk.prodlike env --database … --redis-db …)"`).

Plain loopback HTTP stands for a TLS-terminating load balancer: clients send
`X-Forwarded-Proto: https` (staging redirects plain HTTP to HTTPS and marks its
cookies Secure) and, with `TRUSTED_PROXY_COUNT=1`, an `X-Forwarded-For` naming
the client, so that per-address rate limits see many clients, not one.

Nothing here imports an app; it only builds environments and starts processes.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from rdk.env import BASE_DIR, STANDIN_SECRET_KEY

FORWARDED_HEADERS = {"X-Forwarded-Proto": "https"}


def environment(
    *,
    database: str,
    redis_db: int,
    site_url: str,
    stripe_api_base: str = "",
    webhook_secret: str = "whsec_rdk_prodlike",  # noqa: S107 (a loopback test secret)
    pg_host: str = "127.0.0.1",
    pg_port: int = 5432,
    redis_host: str = "127.0.0.1",
    redis_port: int = 6379,
    state_dir: Path | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """The variables of a production-like RDK (RDK_ENV=staging) on loopback.

    `SECRET_KEY` is fresh per call: every process started with one result shares
    it (sessions signed by one are valid on the others), as on real hosts."""
    state_dir = state_dir or BASE_DIR / "var" / "prodlike"
    values = {
        "RDK_ENV": "staging",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"postgres://rdk@{pg_host}:{pg_port}/{database}",
        "CACHE_URL": f"redis://{redis_host}:{redis_port}/{redis_db}",
        "SITE_URL": site_url,
        "STRIPE_SECRET_KEY": STANDIN_SECRET_KEY,
        "STRIPE_API_BASE": stripe_api_base,
        "STRIPE_WEBHOOK_SECRETS": webhook_secret,
        "TRUSTED_PROXY_COUNT": "1",
        "STATIC_ROOT": str(state_dir / "static"),
        "MEDIA_ROOT": str(state_dir / "media"),
        "RDK_LOG_LEVEL": "warning",
        "RDK_LOG_FORMAT": "json",
    }
    values.update(extra or {})
    return values


def http_get(url: str, *, timeout: float = 5.0, headers: dict[str, str] | None = None) -> int:
    """GET `url` through the balancer headers; the status (errors included)."""
    request = urllib.request.Request(url, headers={**FORWARDED_HEADERS, **(headers or {})})  # noqa: S310
    try:
        # An http:// URL built by the caller on loopback, never user input.
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def wait_until_ready(url: str, *, timeout: float = 60.0, process: subprocess.Popen | None = None):
    """Poll `url` (a /readyz) until it answers 200; RuntimeError after `timeout`
    seconds or when `process` exits first."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with status {process.returncode}.")
        try:
            last = http_get(url, timeout=2)
            if last == 200:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last = exc
        time.sleep(0.2)
    raise RuntimeError(f"{url} was not ready within {timeout:.0f}s (last answer: {last}).")


class Process:
    """A child process in its own process group, stopped (TERM, then KILL) with
    everything it started."""

    def __init__(self, name: str, argv: list[str], *, env: dict[str, str], log: Path) -> None:
        self.name, self.argv, self.env, self.log = name, argv, env, log
        self.popen: subprocess.Popen | None = None

    def start(self) -> Process:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(  # noqa: S603 (argv built by RDK's own tools)
                self.argv,
                cwd=BASE_DIR,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.popen is None or self.popen.poll() is not None:
            return self.popen.returncode if self.popen else None
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                break
            try:
                return self.popen.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
        return self.popen.poll()


def gunicorn(
    *, port: int, env: dict[str, str], log: Path, workers: int = 3, threads: int = 4
) -> Process:
    """RDK under gunicorn on 127.0.0.1:`port`, configured by rdk/gunicorn_conf.py
    like production (gthread workers when threads > 1)."""
    argv = [
        sys.executable, "-m", "gunicorn", "--config", "python:rdk.gunicorn_conf",
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--worker-class", "gthread" if threads > 1 else "sync",
        "--threads", str(threads),
    ]  # fmt: skip
    return Process(f"rdk:{port}", argv, env=env, log=log)


def manage(*args: str, env: dict[str, str], log: Path, name: str | None = None) -> Process:
    """`python manage.py …` as a long-running child process (the Stripe stand-in)."""
    argv = [sys.executable, str(BASE_DIR / "manage.py"), *args]
    return Process(name or args[0], argv, env=env, log=log)


def main(argv: list[str] | None = None) -> int:
    """`python -m rdk.prodlike env …`: the environment as shell `export` lines."""
    parser = argparse.ArgumentParser(prog="python -m rdk.prodlike")
    parser.add_argument("command", choices=["env"])
    parser.add_argument("--database", required=True)
    parser.add_argument("--redis-db", type=int, required=True)
    parser.add_argument("--site-url", required=True)
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--redis-host", default="127.0.0.1")
    parser.add_argument("--redis-port", type=int, default=6379)
    parser.add_argument("--state-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    values = environment(
        database=args.database,
        redis_db=args.redis_db,
        site_url=args.site_url,
        pg_host=args.pg_host,
        pg_port=args.pg_port,
        redis_host=args.redis_host,
        redis_port=args.redis_port,
        state_dir=args.state_dir,
    )
    for name, value in values.items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
