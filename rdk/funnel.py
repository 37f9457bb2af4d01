"""Checkout funnel counters per hour, stored in PostgreSQL (RUNBOOK §8
"checkout drop"): product view → add to cart → checkout started → handed to
Stripe → paid, and abandoned/expired beside them. No third-party analytics.

Counts are kept in a per-process buffer (a lock and a dict increment) and
written with one statement, an upsert that adds to each (hour, step) row
(`INSERT … ON CONFLICT (hour, step) DO UPDATE SET count = count + EXCLUDED.count`),
at most every FUNNEL_FLUSH_SECONDS by the request that finds the buffer due,
and at process exit. A process killed hard loses at most that many seconds of
counts; the figures are for trends, not accounting.

- Steps taken inside a service's transaction (`funnel_count`) join the buffer
  once it commits (`on_commit`): a rolled-back checkout is not counted. Writing
  each one at once cost every payment a transaction of its own, committed (an
  fsync) while holding the hot (hour, step) row, so concurrent payments
  queued behind each other's commits.
- Product views (`product_viewed`) are counted on *every* page served, also the
  anonymous product page answered from the page cache; counting in the view
  would count cache misses only. A cached page is answered without touching
  Redis or PostgreSQL (the per-process copy in rdk/pagecache.py).
- A failed write is logged and never fails the shopper's request; the counts
  are kept for the next flush.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import threading
import time
from collections import defaultdict

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from rdk.models import FunnelCount, FunnelStep

logger = logging.getLogger(__name__)

_UPSERT = (
    "INSERT INTO rdk_funnelcount (hour, step, count) VALUES {rows} "
    "ON CONFLICT (hour, step) DO UPDATE SET count = rdk_funnelcount.count + EXCLUDED.count"
)


def _hour(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch - epoch % 3600, tz=dt.UTC)


def _upsert(counts: dict[tuple[dt.datetime, str], int]) -> None:
    """Add `counts` to their rows: one statement whatever the number of rows."""
    if not counts:
        return
    rows = ", ".join(["(%s, %s, %s)"] * len(counts))
    params: list[dt.datetime | str | int] = []
    for (hour, step), n in counts.items():
        params += [hour, step, n]
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT.format(rows=rows), params)  # nosec B608 (placeholders only)


def _write(counts: dict[tuple[dt.datetime, str], int]) -> bool:
    try:
        _upsert(counts)
    except DatabaseError:
        logger.warning("funnel.write_failed", exc_info=True, extra={"rows": len(counts)})
        # A flush may run from the front (rdk/front.py), where no request
        # signal replaces a broken connection: replace it here, or a process
        # answering only cached pages would fail every flush after one outage.
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
        return False
    return True


def funnel_count(step: FunnelStep, n: int = 1) -> None:
    """Count `step` once the current transaction commits (now, outside one)."""
    transaction.on_commit(lambda: _counted(str(step), n))


class _Buffer:
    """Counts of this process not yet written."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[tuple[float, str], int] = defaultdict(int)
        self.since = time.monotonic()

    def add(self, step: str, n: int = 1) -> bool:
        """Count `n`; True when the buffer is due to be written."""
        now = time.time()
        with self.lock:
            self.counts[(now - now % 3600, step)] += n
            flush_after: float = settings.FUNNEL_FLUSH_SECONDS
            return time.monotonic() - self.since >= flush_after

    def take(self) -> dict[tuple[float, str], int]:
        with self.lock:
            taken, self.counts = self.counts, defaultdict(int)
            self.since = time.monotonic()
        return taken

    def put_back(self, counts: dict[tuple[float, str], int]) -> None:
        with self.lock:
            for key, n in counts.items():
                self.counts[key] += n


_pending = _Buffer()


def _counted(step: str, n: int) -> None:
    if _pending.add(step, n):
        funnel_flush()


def product_viewed() -> None:
    """Count a product page served (rendered or from the page cache)."""
    _counted(FunnelStep.PRODUCT_VIEW, 1)


def funnel_flush() -> int:
    """Write this process's buffered counts now; returns how many were written."""
    taken = _pending.take()
    if not taken:
        return 0
    if not _write({(_hour(epoch), step): n for (epoch, step), n in taken.items()}):
        _pending.put_back(taken)
        return 0
    return sum(taken.values())


atexit.register(funnel_flush)


# Reading -------------------------------------------------------------------------------

STEPS = list(FunnelStep)


def funnel_rows(*, since: dt.datetime) -> list[tuple[dt.datetime, str, int]]:
    """(hour, step, count) from the hour holding `since` until now, in one query."""
    rows = FunnelCount.objects.filter(hour__gte=_hour(since.timestamp()))
    return list(rows.values_list("hour", "step", "count"))


def funnel_totals(
    *, since: dt.datetime, rows: list[tuple[dt.datetime, str, int]] | None = None
) -> dict[str, int]:
    """Count of each step from the hour holding `since` until now (from `rows`
    already read by `funnel_rows`, when given)."""
    start = _hour(since.timestamp())
    totals = dict.fromkeys(FunnelStep.values, 0)
    for hour, step, count in funnel_rows(since=since) if rows is None else rows:
        if hour >= start:
            totals[step] += count
    return totals
