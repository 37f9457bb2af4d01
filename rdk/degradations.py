"""What this process is currently doing without: the cache, Stripe, …

A dependency that fails is reported here instead of failing the request:
`degradation_report("cache", …)` records it, logs `degradation.started` once,
then at most one `degradation.ongoing` per `LOG_INTERVAL` seconds with the
number of occurrences since, and `degradation_clear("cache")` logs
`degradation.ended` with how long it lasted. The ops home and `/readyz` show
`degradations_active()`.

State is per process, on purpose: it must work while the shared cache is the
thing that is down. Every process meets the same outage, so whichever one
serves the ops home shows it (docs/operations.md).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace

logger = logging.getLogger(__name__)

LOG_INTERVAL = 60.0  # seconds between two log lines about one ongoing degradation


@dataclass(frozen=True)
class Degradation:
    name: str
    summary: str  # what shoppers and operators see meanwhile, one sentence
    reason: str  # the error's class and a fixed phrase: never its message
    since: float  # wall-clock time of the first occurrence
    count: int  # occurrences since it started
    logged_at: float  # monotonic time of the last log line
    logged_count: int  # count at that line


_active: dict[str, Degradation] = {}
_lock = threading.Lock()


def degradation_report(name: str, *, summary: str, reason: str) -> None:
    """Record one occurrence of `name`; logs once per LOG_INTERVAL at most."""
    now = time.monotonic()
    with _lock:
        current = _active.get(name)
        if current is None:
            _active[name] = Degradation(name, summary, reason, time.time(), 1, now, 1)
            event, extra = "degradation.started", {}
        else:
            current = replace(current, count=current.count + 1, reason=reason)
            if now - current.logged_at < LOG_INTERVAL:
                _active[name] = current
                return
            extra = {"occurrences": current.count - current.logged_count}
            _active[name] = replace(current, logged_at=now, logged_count=current.count)
            event = "degradation.ongoing"
    logger.warning(event, extra={"dependency": name, "summary": summary, "reason": reason, **extra})


def degradation_clear(name: str) -> None:
    """`name` works again; logs how long it was degraded (nothing when it was not)."""
    with _lock:
        ended = _active.pop(name, None)
    if ended is not None:
        logger.warning(
            "degradation.ended",
            extra={
                "dependency": name,
                "seconds": round(time.time() - ended.since, 1),
                "occurrences": ended.count,
            },
        )


def degradation_get(name: str) -> Degradation | None:
    return _active.get(name)


def degradations_active() -> list[Degradation]:
    """Every ongoing degradation of this process, oldest first."""
    with _lock:
        return sorted(_active.values(), key=lambda item: item.since)
