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
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

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
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code


def wait_until_ready(
    url: str, *, timeout: float = 60.0, process: subprocess.Popen[bytes] | None = None
) -> None:
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
        self.popen: subprocess.Popen[bytes] | None = None

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
    *,
    port: int,
    env: dict[str, str],
    log: Path,
    workers: int = 3,
    threads: int = 4,
    host: str = "127.0.0.1",
    netns: str | None = None,
    app: str = "rdk.wsgi:application",
    chdir: Path | None = None,
) -> Process:
    """RDK (or another WSGI `app`, imported from `chdir`) under gunicorn on
    `host`:`port`, configured by rdk/gunicorn_conf.py like production (gthread
    workers when threads > 1), inside the network namespace `netns` when given
    (`make scaleout`'s hosts)."""
    argv = [
        sys.executable, "-m", "gunicorn", "--config", "python:rdk.gunicorn_conf", app,
        "--chdir", str(chdir or BASE_DIR),
        "--bind", f"{host}:{port}",
        "--workers", str(workers),
        "--worker-class", "gthread" if threads > 1 else "sync",
        "--threads", str(threads),
    ]  # fmt: skip
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    return Process(f"rdk:{netns or ''}:{port}", argv, env=env, log=log)


class Supervisor:
    """Start `make()`'s process and start a new one each time it exits, after
    `delay` seconds, as systemd's `Restart=always` (RestartSec) does in
    production (deploy/systemd/), until `stop()`. `restarts` holds the Unix
    time of each restart; `remember` is called with each process started.

    The task worker and the scheduler need it: the worker exits when
    PostgreSQL goes away, the scheduler when it loses its Redis lock."""

    def __init__(
        self,
        make: Callable[[], Process],
        *,
        remember: Callable[[Process], Process] = lambda process: process,
        delay: float = 0.5,
    ) -> None:
        self.make, self.remember, self.delay = make, remember, delay
        self.process: Process | None = None
        self.restarts: list[float] = []
        self.exits: list[int] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> Supervisor:
        self.process = self.remember(self.make().start())
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stopping.wait(0.2):
            popen = self.process.popen if self.process is not None else None
            if popen is None or popen.poll() is None:
                continue
            self.exits.append(popen.returncode)
            if self._stopping.wait(self.delay):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self.restarts.append(time.time())
                self.process = self.remember(self.make().start())

    @property
    def running(self) -> bool:
        popen = self.process.popen if self.process is not None else None
        return popen is not None and popen.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        self._stopping.set()
        with self._lock:
            if self.process is not None:
                self.process.stop(timeout=timeout)


PGBOUNCER_INI = BASE_DIR / "deploy" / "pgbouncer.ini"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (for a process about to bind it)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def pgbouncer(
    *,
    listen: str,
    port: int,
    pg_host: str,
    pg_port: int,
    state_dir: Path,
    users: tuple[str, ...] = ("rdk",),
    pool_size: int | None = None,
) -> Process:
    """Debian's pgbouncer in transaction mode on `listen`:`port`, in front of
    PostgreSQL at `pg_host`:`pg_port`, with the committed `deploy/pgbouncer.ini`.

    Only what differs on this machine is overridden: addresses, files, and
    `trust` authentication for `users` (the loopback PostgreSQL trusts them too).
    Started as root, it drops to the `postgres` user (pgbouncer refuses root)."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(binary).exists():
        raise RuntimeError("pgbouncer is not installed (Debian: apt-get install pgbouncer).")
    state_dir.mkdir(parents=True, exist_ok=True)
    userlist = state_dir / "userlist.txt"
    userlist.write_text("".join(f'"{user}" ""\n' for user in users))
    config = state_dir / "pgbouncer.ini"
    # The committed settings, then what differs on this machine (a later
    # setting wins), then the databases.
    lines = [
        PGBOUNCER_INI.read_text(),
        "; make scaleout / make test on this machine:",
        f"listen_addr = {listen}",
        f"listen_port = {port}",
        "unix_socket_dir =",
        "auth_type = trust",
        f"auth_file = {userlist}",
        f"logfile = {state_dir / 'pgbouncer.log'}",
        f"pidfile = {state_dir / 'pgbouncer.pid'}",
        "admin_users = " + users[0],
    ]
    if pool_size is not None:
        lines.append(f"default_pool_size = {pool_size}")
    lines += ["", "[databases]", f"* = host={pg_host} port={pg_port}"]
    config.write_text("\n".join(lines) + "\n")
    argv = [binary, str(config)]
    if os.geteuid() == 0:
        shutil.chown(state_dir, user="postgres")
        for path in (userlist, config):
            shutil.chown(path, user="postgres")
        argv[1:1] = ["-u", "postgres"]
    return Process(f"pgbouncer:{port}", argv, env={**os.environ}, log=state_dir / "stdout.log")


def wait_for_port(
    host: str, port: int, *, timeout: float = 20.0, process: Process | None = None
) -> None:
    """Poll until `host`:`port` accepts a TCP connection; RuntimeError after
    `timeout` seconds or when `process` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.popen is not None and process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited with status {process.popen.returncode}.")
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listened on {host}:{port} within {timeout:.0f}s.")


def _raise_on_sigterm(signum: int, frame: FrameType | None) -> NoReturn:
    raise SystemExit(128 + signum)


def through_pgbouncer(command: list[str]) -> int:
    """Run `command` with DATABASE_URL pointing at a pgbouncer (transaction mode)
    started for it in front of the database DATABASE_URL names, and
    DATABASE_POOLER=pgbouncer-transaction; stop pgbouncer afterwards, whatever
    happens. The command's exit status."""
    direct = urlsplit(os.environ.get("DATABASE_URL", ""))
    if direct.scheme not in ("postgres", "postgresql") or not direct.hostname:
        raise RuntimeError(
            "DATABASE_URL must name a PostgreSQL server to put pgbouncer in front of."
        )
    signal.signal(signal.SIGTERM, _raise_on_sigterm)  # stop pgbouncer when stopped
    state_dir = Path(tempfile.mkdtemp(prefix="rdk-pgbouncer-"))
    port = free_port()
    bouncer = pgbouncer(
        listen="127.0.0.1",
        port=port,
        pg_host=direct.hostname,
        pg_port=direct.port or 5432,
        state_dir=state_dir,
        users=(direct.username or "rdk",),
    )
    netloc = f"{direct.username or 'rdk'}@127.0.0.1:{port}"
    pooled_url = urlunsplit(direct._replace(netloc=netloc))
    try:
        bouncer.start()
        wait_for_port("127.0.0.1", port, process=bouncer)
        print(
            f"pgbouncer (transaction mode) on 127.0.0.1:{port} in front of "
            f"{direct.hostname}:{direct.port or 5432}",
            flush=True,
        )
        child_env = {
            **os.environ,
            "DATABASE_URL": pooled_url,
            "DATABASE_POOLER": "pgbouncer-transaction",
        }
        return subprocess.run(command, env=child_env, check=False).returncode  # noqa: S603
    finally:
        bouncer.stop()
        shutil.rmtree(state_dir, ignore_errors=True)


def manage(
    *args: str, env: dict[str, str], log: Path, name: str | None = None, netns: str | None = None
) -> Process:
    """`python manage.py …` as a long-running child process (the Stripe
    stand-in, the task worker, the scheduler), inside the network namespace
    `netns` when given (`make scaleout`'s hosts)."""
    argv = [sys.executable, str(BASE_DIR / "manage.py"), *args]
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    return Process(name or args[0], argv, env=env, log=log)


def main(argv: list[str] | None = None) -> int:
    """`python -m rdk.prodlike env …`: the environment as shell `export` lines.
    `python -m rdk.prodlike through-pgbouncer -- COMMAND …`: COMMAND with its
    database behind a pgbouncer in transaction mode (make test's pooled pass)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["through-pgbouncer"]:
        command = argv[2:] if argv[1:2] == ["--"] else argv[1:]
        if not command:
            print("usage: python -m rdk.prodlike through-pgbouncer -- COMMAND …", file=sys.stderr)
            return 2
        try:
            return through_pgbouncer(command)
        except RuntimeError as exc:
            print(f"through-pgbouncer: {exc}", file=sys.stderr)
            return 1
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
    parser.add_argument("--stripe-api-base", default="")
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
        stripe_api_base=args.stripe_api_base,
    )
    for name, value in values.items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
