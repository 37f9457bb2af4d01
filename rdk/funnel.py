"""Checkout funnel counters per hour, stored in PostgreSQL (RUNBOOK §8
"checkout drop"): product view → add to cart → checkout started → handed to
Stripe → paid, and abandoned/expired beside them. No third-party analytics.

Every count is one statement: an upsert that adds to the (hour, step) row
(`INSERT … ON CONFLICT (hour, step) DO UPDATE SET count = count + EXCLUDED.count`).

- Steps taken inside a service's transaction (`funnel_count`) are written after
  it commits (`on_commit`): a rolled-back checkout is not counted, and the hot
  (hour, step) row is locked for one statement, not for the length of every
  checkout transaction (which would queue concurrent checkouts behind it).
- Product views (`product_viewed`) are counted on *every* page served, also the
  anonymous product page answered from the page cache; counting in the view
  would count cache misses only. A cached page is answered without touching
  Redis or PostgreSQL (the per-process copy in rdk/pagecache.py), so a view
  only adds to a per-process buffer (a lock and a dict increment); the buffer is
  written with one upsert at most every FUNNEL_FLUSH_SECONDS by the request that
  finds it due, and at process exit. A process killed hard loses at most that
  many seconds of views; the figures are for trends, not accounting.
- A failed write is logged and never fails the shopper's request; buffered
  views are kept for the next flush.
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
        return False
    return True


def funnel_count(step: FunnelStep, n: int = 1) -> None:
    """Count `step` once the current transaction commits (now, outside one)."""
    counts = {(_hour(time.time()), str(step)): n}
    transaction.on_commit(lambda: _write(counts))


class _ViewBuffer:
    """Product views of this process not yet written."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[tuple[float, str], int] = defaultdict(int)
        self.since = time.monotonic()

    def add(self, step: str) -> bool:
        """Count one; True when the buffer is due to be written."""
        now = time.time()
        with self.lock:
            self.counts[(now - now % 3600, step)] += 1
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


_views = _ViewBuffer()


def product_viewed() -> None:
    """Count a product page served (rendered or from the page cache)."""
    if _views.add(FunnelStep.PRODUCT_VIEW):
        funnel_flush()


def funnel_flush() -> int:
    """Write this process's buffered views now; returns how many were written."""
    taken = _views.take()
    if not taken:
        return 0
    if not _write({(_hour(epoch), step): n for (epoch, step), n in taken.items()}):
        _views.put_back(taken)
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
