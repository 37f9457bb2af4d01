"""Signed webhook delivery, as Stripe does it: a JSON POST with
`Stripe-Signature: t=<time>,v1=<HMAC-SHA256 of "<time>.<body>" with the whsec>`,
signed afresh on each attempt; a non-2xx answer or no answer is retried with
exponential backoff until the retry window closes."""

from __future__ import annotations

import heapq
import hmac
import itertools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from hashlib import sha256

logger = logging.getLogger(__name__)

USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def encode(event: dict) -> bytes:
    return json.dumps(event, indent=2).encode()


@dataclass
class Delivery:
    event_id: str
    event_type: str
    payload: bytes
    attempts: int = 0
    first_attempt_at: float | None = None
    statuses: list = field(default_factory=list)
    state: str = "pending"  # pending, delivered, gave_up

    def summary(self) -> dict:
        return {
            "event": self.event_id,
            "type": self.event_type,
            "attempts": self.attempts,
            "statuses": self.statuses,
            "state": self.state,
        }


class Deliverer:
    """A background worker delivering queued events; `post_now` delivers at once."""

    def __init__(
        self,
        *,
        url: str | None,
        secret: str,
        retry_window: float = 3 * 60 * 60,
        first_backoff: float = 1.0,
        max_backoff: float = 60.0,
        timeout: float = 10.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.url, self.secret = url, secret
        # Added to every delivery, e.g. the X-Forwarded-Proto a TLS-terminating
        # load balancer adds in front of a production-like RDK (make loadtest).
        self.headers = dict(headers or {})
        self.retry_window, self.first_backoff, self.max_backoff = (
            retry_window,
            first_backoff,
            max_backoff,
        )
        self.timeout = timeout
        self.log: list[Delivery] = []
        self._heap: list[tuple[float, int, Delivery]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._unattempted = 0
        self._in_flight = 0
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="standin-webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    # One attempt ----------------------------------------------------------------------

    def post(self, payload: bytes) -> int | None:
        """POST one signed copy; the HTTP status, or None when nothing answered."""
        if not self.url:
            return None
        request = urllib.request.Request(  # noqa: S310 (the configured local webhook URL)
            self.url,
            data=payload,
            method="POST",
            headers={
                **self.headers,
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": USER_AGENT,
                "Stripe-Signature": sign(payload, self.secret, int(time.time())),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (the stand-in takes only http and https webhook URLs)  # nosec B310
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except (OSError, ValueError):
            return None

    def post_now(self, events: list[dict], *, concurrent: bool = False) -> list[dict]:
        """Deliver each event once, now, in the given order (or all at once)."""
        payloads = [(event, encode(event)) for event in events]
        if concurrent and len(payloads) > 1:
            with ThreadPoolExecutor(max_workers=len(payloads)) as pool:
                statuses = list(pool.map(lambda item: self.post(item[1]), payloads))
        else:
            statuses = [self.post(payload) for _, payload in payloads]
        return [
            {"event": event["id"], "type": event["type"], "status": status}
            for (event, _), status in zip(payloads, statuses, strict=True)
        ]

    # The queue ------------------------------------------------------------------------

    def enqueue(self, event: dict) -> None:
        if not self.url:
            return
        delivery = Delivery(event["id"], event["type"], encode(event))
        with self._cond:
            self.log.append(delivery)
            self._unattempted += 1
            heapq.heappush(self._heap, (time.monotonic(), next(self._seq), delivery))
            self._cond.notify_all()

    def flush(self, timeout: float = 30.0, *, retries: bool = False) -> dict:
        """Wait until every queued delivery has been attempted at least once and none
        is in flight (with `retries`, until none is waiting for a retry either);
        answers whether that happened within `timeout` and how many still retry."""

        def settled() -> bool:
            idle = self._unattempted == 0 and self._in_flight == 0
            return idle and not (retries and self._heap)

        with self._cond:
            done = self._cond.wait_for(settled, timeout=timeout)
            retrying = sum(1 for d in self.log if d.state == "pending")
        return {"settled": done, "retrying": retrying}

    def _next(self) -> Delivery | None:
        with self._cond:
            while not self._stopped:
                if not self._heap:
                    self._cond.wait()
                    continue
                due = self._heap[0][0] - time.monotonic()
                if due > 0:
                    self._cond.wait(timeout=due)
                    continue
                _, _, delivery = heapq.heappop(self._heap)
                self._in_flight += 1
                if delivery.attempts == 0:
                    self._unattempted -= 1
                return delivery
        return None

    def _run(self) -> None:
        while (delivery := self._next()) is not None:
            now = time.monotonic()
            delivery.first_attempt_at = delivery.first_attempt_at or now
            status = self.post(delivery.payload)
            delivery.attempts += 1
            delivery.statuses.append(status)
            with self._cond:
                self._in_flight -= 1
                if status is not None and 200 <= status < 300:
                    delivery.state = "delivered"
                else:
                    backoff = min(
                        self.first_backoff * 2 ** (delivery.attempts - 1), self.max_backoff
                    )
                    if now + backoff > delivery.first_attempt_at + self.retry_window:
                        delivery.state = "gave_up"
                    else:
                        heapq.heappush(self._heap, (now + backoff, next(self._seq), delivery))
                self._cond.notify_all()
            logger.info(
                "standin.webhook_delivery",
                extra={
                    "stripe_event": delivery.event_id,
                    "attempt": delivery.attempts,
                    "http_status": status,
                    "state": delivery.state,
                },
            )
