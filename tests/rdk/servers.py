"""Real processes for the outage tests: RDK under gunicorn (rdk/gunicorn_conf.py,
through rdk.prodlike like every launcher) and a TCP proxy standing between it
and PostgreSQL, which a test stops to take the database away and starts to
bring it back (connections refused meanwhile, open ones cut)."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings

from rdk import prodlike


class TcpProxy:
    """`swallow_answers`: requests reach the upstream, its answers never come
    back (a server that does the work, then hangs: the client times out)."""

    def __init__(
        self, port: int, upstream: tuple[str, int], *, swallow_answers: bool = False
    ) -> None:
        self.port, self.upstream = port, upstream
        self.swallow_answers = swallow_answers
        self.listener: socket.socket | None = None
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()

    def start(self) -> TcpProxy:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Refuse new connections and cut every open one, as a stopped server does."""
        if self.listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not.
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        with self.lock:
            sockets, self.sockets = self.sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # closed by stop()
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self.lock:
                self.sockets += [client, server]
            for source, sink, answers in ((client, server, False), (server, client, True)):
                pump = (source, sink, answers and self.swallow_answers)
                threading.Thread(target=self._pump, args=pump, daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, swallow: bool) -> None:
        try:
            while data := source.recv(65536):
                if not swallow:
                    sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def rdk_environment(*, database_url: str, **extra: str) -> dict[str, str]:
    """A local-environment RDK on this test run's database (through `database_url`)
    and Redis db, with DEBUG off so errors render as shoppers see them."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "RDK_ENV": "local",
        "DEBUG": "false",
        "DATABASE_URL": database_url,
        "CACHE_URL": os.environ.get("CACHE_URL", "locmemcache://"),
        "RDK_LOG_FORMAT": "json",
        "RDK_LOG_LEVEL": "info",
        **extra,
    }


def run_database_url(*, port: int | None = None) -> str:
    """This run's test database, optionally through another port (a TcpProxy)."""
    db = settings.DATABASES["default"]
    return (
        f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@127.0.0.1:"
        f"{port or db.get('PORT') or 5432}/{db['NAME']}"
    )


def gunicorn(*, port: int, env: dict[str, str], log: Path) -> prodlike.Process:
    process = prodlike.gunicorn(port=port, env=env, log=log, workers=1, threads=2).start()
    try:
        prodlike.wait_until_ready(f"http://127.0.0.1:{port}/healthz", process=process.popen)
    except RuntimeError:
        process.stop()
        raise
    return process


def get(url: str, *, headers: dict[str, str] | None = None):
    """(status, headers, body) of a GET, error statuses included."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310  # nosec B310
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode()
