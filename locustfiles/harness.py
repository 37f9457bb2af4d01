"""What `make chaos` (locustfiles/chaos.py) and `make scaleout`
(locustfiles/scaleout.py) share: the run's skeleton (results folder, stop on
SIGTERM, clean-up whatever happens), the process groups a killed run leaves
for `--cleanup`, an SMTP server of the run's own that records each
message (and can refuse connections or hold a sender mid-send), and the checks
both make on background work: every order email delivered exactly once, and
each minute of the schedule enqueued exactly once.

Locust's mix and the load-test summary are locustfiles/run.py's; production-
like processes are rdk/prodlike.py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from pathlib import Path

import run as loadtest  # locustfiles/run.py (the caller put locustfiles/ on sys.path)

from rdk import prodlike

BASE_DIR = Path(__file__).resolve().parent.parent
SCHEDULED_EVERY_MINUTE = "orders.tasks.release_expired_reservations"


def say(text: str) -> None:
    print(text, flush=True)


def results_dir(kind: str) -> Path:
    """results/<UTC time>-<kind>/, like `make loadtest`'s."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results = BASE_DIR / "results" / f"{stamp}-{kind}"
    results.mkdir(parents=True, exist_ok=True)
    say(f"{kind}: results in {results.relative_to(BASE_DIR)}")
    return results


def _stop_on_signal(signum, frame):
    raise SystemExit(128 + signum)


def carry_out(run: loadtest.Run, steps: list[Callable[[], None]], teardown: Callable) -> bool:
    """Run `steps` in order, then `teardown` whatever happens (SIGTERM, as
    from `timeout`, too). A step's exception is the failed check "the run
    completed". Returns whether every step completed."""
    signal.signal(signal.SIGTERM, _stop_on_signal)
    completed = False
    try:
        for step in steps:
            step()
        completed = True
    except Exception as exc:  # any failure is reported as one, after clean-up
        run.check("the run completed", False, f"{type(exc).__name__}: {exc}")
    finally:
        teardown()
    return completed


class ProcessGroups:
    """The process groups a run started, noted in a file so that `--cleanup`
    after a killed run can end them (and only them)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def remember(self, process: prodlike.Process) -> prodlike.Process:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as out:
            out.write(f"{process.pid}\n")
        return process

    def kill_all(self) -> list[str]:
        killed = []
        if self.path.exists():
            for line in self.path.read_text().split():
                with contextlib.suppress(ProcessLookupError, ValueError, PermissionError):
                    os.killpg(int(line), signal.SIGCONT)  # a frozen one too
                    os.killpg(int(line), signal.SIGKILL)
                    killed.append(f"process group {line}")
            self.path.unlink()
        return killed


class _Recorder:
    """aiosmtpd handler: records each message's Message-ID; holds the first
    sender after `hold_next` at RCPT (inside its send) until `release`."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.sink.hold_next:
            self.sink.hold_next = False
            self.sink.held.set()
            await asyncio.get_running_loop().run_in_executor(None, self.sink.release.wait, 60)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        headers = BytesHeaderParser().parsebytes(envelope.original_content or envelope.content)
        self.sink.received.append(str(headers.get("Message-ID", "")).strip())
        return "250 Message accepted"


class SmtpSink:
    """An SMTP server of the run's own (aiosmtpd, in this process) on
    `host`:`port`: `stop()` makes it refuse connections (SMTP down), `start()`
    brings it back; `hold()` holds the next sender inside its send (after
    RCPT, before DATA) until `release`, so a worker can be killed mid-send."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.received: list[str] = []
        self.hold_next = False
        self.held = threading.Event()
        self.release = threading.Event()
        self._controller = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self._controller = Controller(_Recorder(self), hostname=self.host, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        self.release.set()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def hold(self) -> None:
        self.held.clear()
        self.release.clear()
        self.hold_next = True

    def counts(self) -> Counter[str]:
        return Counter(self.received)


# Checks on background work ----------------------------------------------------------------


def expected_order_emails(since: datetime) -> set[str]:
    """The keys of the order emails the order events since `since` call for
    (orders/emails.py: one per event and kind)."""
    from orders.emails import CONFIRMED, NOT_PAID, REFUNDED, SHIPPED
    from orders.models import OrderEvent, OrderStatus

    kinds = {
        OrderStatus.PAID: CONFIRMED,
        OrderStatus.SHIPPED: SHIPPED,
        OrderStatus.REFUNDED: REFUNDED,
        OrderStatus.PARTIALLY_REFUNDED: REFUNDED,
    }
    expected = set()
    with loadtest._service_scope():
        events = OrderEvent.objects.filter(created_at__gte=since, kind="status").values_list(
            "pk", "to_status", "actor"
        )
        for pk, to_status, actor in events:
            if to_status in kinds:
                expected.add(f"order:{pk}:{kinds[to_status]}")
            elif to_status == OrderStatus.CANCELED and actor.startswith("system:"):
                expected.add(f"order:{pk}:{NOT_PAID}")
    return expected


def check_emails(run: loadtest.Run, sink: SmtpSink, since: datetime) -> dict[str, int]:
    """Every order email the run's order events call for reached the SMTP
    server exactly once (by Message-ID); none twice, none lost, none unknown;
    every email recorded (order emails and others) sent. Returns the figures."""
    from rdk.emails import message_id
    from rdk.models import OutboundEmail

    expected = expected_order_emails(since)
    with loadtest._service_scope():
        recorded = {e.key: e for e in OutboundEmail.objects.filter(created_at__gte=since)}
    ids = {key: message_id(email) for key, email in recorded.items()}
    received = sink.counts()
    figures = {
        "expected": len(expected),
        "recorded": len(recorded),
        "received": sum(received.values()),
        "not_recorded": len(expected - set(recorded)),
        "lost": sum(1 for key in expected if received[ids.get(key, "")] == 0),
        "twice": sum(1 for n in received.values() if n > 1),
        "unknown": len(set(received) - set(ids.values())),
        "unsent": sum(1 for e in recorded.values() if e.status != OutboundEmail.Status.SENT),
        "retried": sum(1 for e in recorded.values() if e.attempts > 1),
    }
    run.check(
        "every order email delivered exactly once (by Message-ID), every email sent",
        figures["expected"] > 0
        and not any(figures[k] for k in ("not_recorded", "lost", "twice", "unknown", "unsent")),
        f"{figures['expected']} order emails called for by the run's order events, "
        f"{figures['recorded']} emails recorded, {figures['received']} messages at the SMTP "
        f"server; not recorded {figures['not_recorded']}, lost {figures['lost']}, twice "
        f"{figures['twice']}, unknown {figures['unknown']}, left unsent {figures['unsent']}; "
        f"{figures['retried']} needed more than one try",
    )
    return figures


def scheduled_runs(since: datetime) -> Counter[datetime]:
    """The every-minute scheduled task's enqueued runs since `since`, by minute."""
    from django_tasks_db.models import DBTaskResult

    times = DBTaskResult.objects.filter(
        task_path=SCHEDULED_EVERY_MINUTE, enqueued_at__gte=since
    ).values_list("enqueued_at", flat=True)
    return Counter(t.replace(second=0, microsecond=0) for t in times)


def full_minutes(since: datetime, until: datetime) -> int:
    """Minute marks (hh:mm:00) strictly inside `since`..`until`."""
    first = since.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return max(0, int((until - first).total_seconds() // 60) + 1) if first < until else 0


def drain_tasks(since: datetime, timeout: float = 60.0) -> int:
    """Wait (bounded) until no task enqueued since `since` is waiting or
    running; the number still left."""
    from django.db import DatabaseError, close_old_connections
    from django_tasks_db.models import DBTaskResult

    deadline = time.monotonic() + timeout
    left = -1
    while time.monotonic() < deadline:
        close_old_connections()
        try:
            left = DBTaskResult.objects.filter(
                status__in=["READY", "RUNNING"], enqueued_at__gte=since
            ).count()
        except DatabaseError:
            left = -1
        if left == 0:
            return 0
        time.sleep(0.5)
    return left
