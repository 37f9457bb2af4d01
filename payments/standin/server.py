"""Serving the stand-in: a threaded wsgiref server on a loopback address, the
webhook deliverer, the expiry sweeper and the timers settling async payments."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from payments.standin.app import App
from payments.standin.objects import StripeApiError
from payments.standin.store import Store
from payments.standin.webhooks import Deliverer

logger = logging.getLogger("payments.standin")


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _Handler(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:
        logger.debug("standin.request %s", format % args)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class StandIn:
    """`StandIn(...).start()` serves in background threads; `.url` is its base
    address (STRIPE_API_BASE); `.stop()` ends everything it started."""

    logger = logger

    def __init__(
        self,
        *,
        secret_key: str,
        webhook_secret: str,
        webhook_url: str | None,
        api_version: str,
        host: str = "127.0.0.1",
        port: int = 0,
        async_delay: float = 5.0,
        sweep_interval: float = 1.0,
        retry_window: float = 3 * 60 * 60,
        first_backoff: float = 1.0,
        webhook_headers: dict[str, str] | None = None,
    ) -> None:
        if not is_loopback(host):
            raise ValueError(f"The stand-in listens on loopback addresses only, not {host!r}.")
        self.secret_key = secret_key
        self.webhook_url = webhook_url
        self.async_delay = async_delay
        self.sweep_interval = sweep_interval
        _Server.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.httpd = make_server(host, port, lambda e, s: self.app(e, s), _Server, _Handler)
        bound_host, bound_port = self.httpd.server_address[:2]
        if isinstance(bound_host, bytes):  # typeshed allows it; AF_INET/AF_INET6 give str
            bound_host = bound_host.decode()
        shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
        self.url = f"http://{shown}:{bound_port}"
        self.port = bound_port
        self.store: Store = Store(public_url=self.url, api_version=api_version)
        self.deliverer: Deliverer = Deliverer(
            url=webhook_url,
            secret=webhook_secret,
            retry_window=retry_window,
            first_backoff=first_backoff,
            headers=webhook_headers,
        )
        self.app: App = App(self)
        self._stop = threading.Event()
        self._timers: list[threading.Timer] = []
        self._threads: list[threading.Thread] = []

    def start(self) -> StandIn:
        self.deliverer.start()
        for target, name in ((lambda: self.httpd.serve_forever(poll_interval=0.1), "standin-http"),
                             (self._sweep, "standin-expiry")):  # fmt: skip
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for timer in self._timers:
            timer.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.deliverer.stop()
        for thread in self._threads:
            thread.join(timeout=5)

    def wait(self) -> None:
        """Block until `stop()` is called (the command serves this way)."""
        self._stop.wait()

    def settle_pending(self, timeout: float = 30.0) -> None:
        """Wait for the async payments chosen on the hosted page to settle."""
        for timer in list(self._timers):
            timer.join(timeout)

    def deliver(self, events: list[dict]) -> None:
        for event in events:
            self.deliverer.enqueue(event)

    def expire_due(self) -> None:
        self.deliver(self.store.expire_due())

    def _sweep(self) -> None:
        while not self._stop.wait(self.sweep_interval):
            self.expire_due()

    def settle_later(self, session_id: str) -> None:
        """An async payment chosen on the hosted page settles after `async_delay`."""

        def settle() -> None:
            # Already settled through the control endpoint: nothing to do.
            with contextlib.suppress(StripeApiError):
                self.deliver(self.store.session_settle(session_id))

        timer = threading.Timer(self.async_delay, settle)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()
