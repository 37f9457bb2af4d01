"""`make chaos`: production-like RDK under load while its dependencies fail, one
after the other, and proof afterwards that nothing was lost or done twice.

On loopback, with a Redis and a PostgreSQL cluster of its own (never the
machine's shared ones): two RDK processes under gunicorn (rdk/prodlike.py), the
task worker, the scheduler and the Stripe stand-in. Locust's mix
(locustfiles/run.py: browsing, signed-in checkout, webhooks) runs against both
processes while the runner, in turn:

- stops Redis and starts it again (empty, as after a crash);
- stops PostgreSQL (fast shutdown: every connection cut) and starts it again;
- freezes the Stripe stand-in (SIGSTOP: Stripe unreachable, requests hang
  until RDK's timeouts; its payments stay on record, as Stripe's do) and thaws it;
- kills one gunicorn worker of the first process (SIGKILL, requests in flight cut);
- makes email delivery fail (its SMTP server, started by the run on loopback,
  refuses connections) and, when SMTP is back, kills the task worker while it
  is inside a send (SIGKILL; the server holds that sender), and starts it again.

Per fault it prints the 5xx answers and the window they fell in, the requests
served while the fault lasted, and the time from the restart to full recovery
(both processes ready and not degraded, pages 200, and for the worker its
backlog run, the killed send included). At the end: orders paid = payments
made on the stand-in, every webhook event stored and applied once, every order
email the run's order events call for received by the SMTP server exactly once
(by Message-ID), no stock lost or oversold, the scheduler (supervised, as
systemd's Restart=always does) back on schedule after Redis restarted empty.
Each figure has its threshold; exit status 0 only when all hold.

Needs root (it creates and drops a PostgreSQL cluster). Everything it starts
is stopped and the cluster dropped on exit, also on failure or Ctrl-C;
`--cleanup` removes what a killed run left.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

import harness  # noqa: E402  (locustfiles/harness.py: what chaos and scaleout share)
import run as loadtest  # noqa: E402  (locustfiles/run.py: the one load-test launcher)

from rdk import prodlike  # noqa: E402

CLUSTER = "rdkchaos"  # the throwaway PostgreSQL cluster's name
DATABASE = "rdk_chaos"
PIDS = harness.ProcessGroups(BASE_DIR / "var" / "chaos.pids")

# Thresholds (issue 13: the shop keeps selling while a dependency is away).
RECOVERY_LIMIT = 30.0  # seconds from a restart to full recovery
# 5xx (and unanswered requests) a fault may cause. PostgreSQL down: the shop
# cannot sell, so its 503s are allowed while it is down, none after recovery.
# A killed gunicorn worker cuts the requests it held (at most its threads).
FIVE_XX_LIMIT = {
    "redis": 0,
    "postgresql": None,
    "stand-in": 0,
    "gunicorn worker": 4,
    "smtp + worker": 0,
}
# A send is bounded here (loopback SMTP): past this the killed worker's email
# task is an orphan and runs again (EMAIL_TASK_ORPHANED_SECONDS).
ORPHANED_AFTER = 5
AFTER_RECOVERY_GRACE = 2  # seconds of 5xx tolerated after recovery (answers in flight)


@dataclass
class Fault:
    name: str
    stopped: float = 0.0  # Unix times
    restarted: float = 0.0
    recovered: float | None = None
    note: str = ""
    five_xx: int = 0
    unanswered: int = 0
    served: int = 0
    window: tuple[int, int] | None = None  # first and last second with a 5xx, from `stopped`
    late_5xx: int = 0  # after recovery (+ grace)


@dataclass
class Stack:
    """What the run started, to stop it whatever happens."""

    processes: list[prodlike.Process] = field(default_factory=list)
    cluster: bool = False


say = harness.say


# The PostgreSQL cluster of its own -------------------------------------------------------


def _tool(name: str) -> str:
    return shutil.which(name) or f"/usr/bin/{name}"


def pg_version() -> str:
    versions = sorted(
        (p.name for p in Path("/etc/postgresql").iterdir() if p.name.isdigit()), key=int
    )
    if not versions:
        raise RuntimeError("no PostgreSQL server installed (/etc/postgresql is empty).")
    return versions[-1]


def pg_ctl(action: str, *extra: str) -> None:
    done = subprocess.run(  # noqa: S603 (fixed argv)
        [_tool("pg_ctlcluster"), pg_version(), CLUSTER, action, *extra],
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"pg_ctlcluster {action}: {(done.stderr or done.stdout)[-400:]}")


def cluster_exists() -> bool:
    return Path("/etc/postgresql", pg_version(), CLUSTER).exists()


def cluster_create(port: int) -> None:
    """A throwaway cluster on localhost:`port` (its default), trusting loopback (like the
    machine's own), without fsync (its data is thrown away)."""
    version = pg_version()
    subprocess.run(  # noqa: S603 (fixed argv)
        [_tool("pg_createcluster"), version, CLUSTER, "-p", str(port), "--start-conf", "manual",
         "-o", "fsync=off",
         "-o", "synchronous_commit=off", "-o", "max_connections=200"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    hba = Path("/etc/postgresql", version, CLUSTER, "pg_hba.conf")
    hba.write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    pg_ctl("start")


def cluster_drop() -> bool:
    if not Path("/etc/postgresql").exists() or not cluster_exists():
        return False
    subprocess.run(  # noqa: S603 (fixed argv)
        [_tool("pg_dropcluster"), "--stop", pg_version(), CLUSTER], check=False, capture_output=True
    )
    return True


def cleanup() -> list[str]:
    removed = PIDS.kill_all()
    if cluster_drop():
        removed.append(f"PostgreSQL cluster {CLUSTER}")
    return removed


# The run --------------------------------------------------------------------------------


class Chaos:
    def __init__(self, args: argparse.Namespace, results: Path) -> None:
        self.args, self.results = args, results
        self.hosts = [f"http://127.0.0.1:{args.port}", f"http://127.0.0.1:{args.port + 1}"]
        self.standin_url = f"http://127.0.0.1:{args.standin_port}"
        self.run = loadtest.Run(results=results, hosts=self.hosts)
        self.stack = Stack()
        self.faults: list[Fault] = []
        self.env: dict[str, str] = {}
        self.named: dict[str, prodlike.Process] = {}
        self.sink = harness.SmtpSink("127.0.0.1", args.smtp_port)
        self.scheduler: prodlike.Supervisor | None = None
        self.worker: prodlike.Supervisor | None = None
        self.killed_mid_send: bool | None = None

    def start(self, name: str, process: prodlike.Process) -> prodlike.Process:
        self.stack.processes.append(PIDS.remember(process.start()))
        self.named[name] = process
        return process

    def redis(self) -> prodlike.Process:
        return prodlike.Process(
            "redis",
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.args.redis_port),
             "--save", "", "--appendonly", "no", "--dir", str(self.results)],
            env={**os.environ}, log=self.results / "redis.log",
        )  # fmt: skip

    def task_worker(self) -> prodlike.Process:
        return prodlike.manage(
            "db_worker", "--queue-name", "*", "--no-startup-delay", "-v", "0",
            env=self.env, log=self.results / "worker.log",
        )  # fmt: skip

    def scheduler_process(self) -> prodlike.Process:
        return prodlike.manage(
            "crontask", "--no-heartbeat", env=self.env, log=self.results / "scheduler.log"
        )

    def set_up(self) -> None:
        args = self.args
        say(
            f"chaos: PostgreSQL cluster {CLUSTER} on 127.0.0.1:{args.pg_port}, "
            f"Redis on 127.0.0.1:{args.redis_port}"
        )
        cluster_create(args.pg_port)
        self.stack.cluster = True
        self.sink.start()
        redis = self.start("redis", self.redis())
        prodlike.wait_for_port("127.0.0.1", args.redis_port, process=redis)
        bootstrap = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "pg_bootstrap", "--admin-url",
             f"postgres://postgres@127.0.0.1:{args.pg_port}/postgres", "--database", DATABASE],
            cwd=BASE_DIR, capture_output=True, text=True, check=False,
            env={**os.environ, "RDK_ENV": "local", "DATABASE_URL": "", "CACHE_URL": ""},
        )  # fmt: skip
        if bootstrap.returncode:
            raise RuntimeError(f"pg_bootstrap failed: {bootstrap.stderr.strip()[-400:]}")
        self.env = prodlike.environment(
            database=DATABASE,
            redis_db=0,
            site_url=self.hosts[0],
            stripe_api_base=self.standin_url,
            webhook_secret="whsec_rdk_chaos_" + os.urandom(12).hex(),
            pg_port=args.pg_port,
            redis_port=args.redis_port,
            state_dir=BASE_DIR / "var" / "chaos",
            extra={
                # Every email to the run's own SMTP server, to count by Message-ID.
                "EMAIL_URL": self.sink.url,
                "TASKS_RETRY_BASE_SECONDS": "1",
                "EMAIL_TASK_ORPHANED_SECONDS": str(ORPHANED_AFTER),
            },
        )
        os.environ.update(self.env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rdk.settings")
        import django

        django.setup()
        loadtest.prepare(self.run)  # migrate, demo catalog, collectstatic, empty Redis
        standin = self.start(
            "stand-in",
            prodlike.manage(
                "stripe_standin",
                "--port", str(args.standin_port),
                "--webhook-url", f"{self.hosts[0]}/api/stripe/webhook",
                "--webhook-header", "X-Forwarded-Proto: https",
                "--webhook-secret", self.env["STRIPE_WEBHOOK_SECRETS"],
                env={**os.environ}, log=self.results / "standin.log",
            ),
        )  # fmt: skip
        for i, _ in enumerate(self.hosts):
            self.start(
                f"rdk{i + 1}",
                prodlike.gunicorn(
                    port=args.port + i,
                    env={**os.environ},
                    log=self.results / f"rdk-{args.port + i}.log",
                    workers=args.workers,
                    threads=args.threads,
                ),
            )
        # Both supervised as systemd's Restart=always does in production
        # (deploy/systemd/): django-crontask exits by design when it loses its
        # Redis lock, and the task worker exits when PostgreSQL goes away.
        self.worker = prodlike.Supervisor(self.task_worker, remember=PIDS.remember).start()
        self.scheduler = prodlike.Supervisor(self.scheduler_process, remember=PIDS.remember).start()
        for i, host in enumerate(self.hosts):
            prodlike.wait_until_ready(host + "/readyz", process=self.named[f"rdk{i + 1}"].popen)
        prodlike.wait_until_ready(self.standin_url + "/_standin/health", process=standin.popen)
        say(
            f"chaos: 2 RDK processes ({args.workers} gthread workers × {args.threads} threads) "
            f"at {', '.join(self.hosts)}; task worker, scheduler; stand-in at {self.standin_url}; "
            f"SMTP at {self.sink.url}"
        )
        loadtest.warm_up(self.hosts)

    # Faults -------------------------------------------------------------------------

    def under_load(self) -> None:
        seconds = self.args.seconds
        os.environ["LOADTEST_TIMELINE"] = str(self.results / "timeline.json")
        locust = threading.Thread(
            target=loadtest.locust, args=(self.run, seconds, self.standin_url), daemon=True
        )
        self.stock_before = loadtest.stock_snapshot()
        self.started_at = datetime.now(UTC)
        started = time.monotonic()
        locust.start()
        plan = [
            ("redis", self.stop_redis, self.start_redis),
            ("postgresql", self.stop_postgresql, self.start_postgresql),
            ("stand-in", self.freeze_standin, self.thaw_standin),
            ("gunicorn worker", self.kill_gunicorn_worker, None),  # gunicorn restarts it
            ("smtp + worker", self.stop_smtp, self.start_smtp_kill_worker_mid_send),
        ]
        slot = (seconds - self.args.steady) / len(plan)
        for number, (name, stop, restart) in enumerate(plan):
            time.sleep(max(0.0, started + self.args.steady + number * slot - time.monotonic()))
            fault = Fault(name)
            self.faults.append(fault)
            fault.stopped = time.time()
            fault.note = stop() or ""
            say(f"chaos: {name} down{' (' + fault.note + ')' if fault.note else ''}")
            if restart is not None:
                time.sleep(self.args.down)
                restart()
            fault.restarted = time.time()
            fault.recovered = self.wait_recovered(name, fault.restarted)
            took = fault.recovered and f"{fault.recovered - fault.restarted:.1f}s"
            say(f"chaos: {name} back; full recovery after {took or 'never'}")
        locust.join(timeout=seconds + 150)
        if locust.is_alive():
            raise RuntimeError("locust did not stop in time")

    def stop_redis(self) -> str:
        self.named["redis"].stop()
        return "redis-server stopped; restarts empty"

    def start_redis(self) -> None:
        redis = self.start("redis", self.redis())
        prodlike.wait_for_port("127.0.0.1", self.args.redis_port, process=redis)

    def stop_postgresql(self) -> str:
        pg_ctl("stop", "-m", "fast")
        return "fast shutdown: every connection cut"

    def start_postgresql(self) -> None:
        pg_ctl("start")

    def freeze_standin(self) -> str:
        os.killpg(self.named["stand-in"].pid, signal.SIGSTOP)
        return "SIGSTOP: connections hang"

    def thaw_standin(self) -> None:
        os.killpg(self.named["stand-in"].pid, signal.SIGCONT)

    def gunicorn_workers(self) -> list[str]:
        """The worker processes of the first RDK process's gunicorn."""
        master = self.named["rdk1"].pid
        return subprocess.run(  # noqa: S603
            [_tool("pgrep"), "-P", str(master)], capture_output=True, text=True, check=False
        ).stdout.split()

    def kill_gunicorn_worker(self) -> str:
        children = self.gunicorn_workers()
        if not children:
            return "no worker found"
        os.kill(int(children[0]), signal.SIGKILL)
        return f"SIGKILL to worker {children[0]} of {self.hosts[0]}; gunicorn replaces it"

    def stop_smtp(self) -> str:
        self.sink.stop()
        return "SMTP server refusing connections: emails fail and are retried"

    def start_smtp_kill_worker_mid_send(self) -> None:
        """SMTP back, holding the next sender inside its send; the task worker
        is killed there (SIGKILL: its transaction and row lock die with it);
        its supervisor starts it again, as systemd would."""
        self.sink.hold()
        self.sink.start()
        self.killed_mid_send = self.sink.held.wait(25)
        worker = self.worker.process
        os.killpg(worker.pid, signal.SIGKILL)
        worker.popen.wait(timeout=10)
        self.sink.release.set()
        say(
            "chaos: task worker killed "
            + ("inside an SMTP send" if self.killed_mid_send else "(NO send seen within 25 s)")
        )

    def wait_recovered(self, name: str, since: float) -> float | None:
        """The Unix time at which everything was whole again, or None."""
        deadline = time.monotonic() + RECOVERY_LIMIT + 15
        while time.monotonic() < deadline:
            if self.whole(name, since):
                return time.time()
            time.sleep(0.25)
        return None

    def whole(self, name: str, since: float) -> bool:
        for host in self.hosts:
            if _readiness(host) != "ok":
                return False
            for path in ("/", "/products"):
                if _get(host + path) != 200:
                    return False
        if name == "stand-in" and _get(self.standin_url + "/_standin/health") != 200:
            return False
        if name == "gunicorn worker" and len(self.gunicorn_workers()) < self.args.workers:
            return False
        # The task worker's backlog from before the restart has run (it exits
        # when PostgreSQL goes away; its supervisor starts it again).
        return not (name in ("postgresql", "smtp + worker") and self.backlog(since))

    def backlog(self, since: float) -> int:
        """Tasks enqueued before `since` still waiting, or still running where
        a dead worker's run comes back on its own (an email: rdk.jobs
        requeue_orphans); a dead worker's unbounded task waits for an operator."""
        from django.db import DatabaseError, close_old_connections
        from django.db.models import Q
        from django_tasks_db.models import DBTaskResult

        close_old_connections()
        before = datetime.fromtimestamp(since, UTC)
        try:
            return DBTaskResult.objects.filter(
                Q(status="READY") | Q(status="RUNNING", task_path="rdk.emails.deliver_email"),
                enqueued_at__lt=before,
            ).count()
        except DatabaseError:
            return 1

    # After the load --------------------------------------------------------------------

    def after(self) -> None:
        from django.db import connections

        connections.close_all()  # the runner's own connections died with PostgreSQL
        loadtest.settle_webhooks(self.standin_url, self.run)
        harness.drain_tasks(self.started_at)
        self.judge_faults()
        self.check_payments()
        self.check_webhooks()
        self.check_emails()
        self.check_processes()
        self.check_scheduler()
        loadtest.stock_checks(self.run, self.stock_before, self.started_at)
        self.check_reservations()

    def judge_faults(self) -> None:
        path = self.results / "timeline.json"
        timeline = (
            {int(k): Counter(v) for k, v in json.loads(path.read_text()).items()}
            if (path.exists())
            else {}
        )
        # A fault owns the seconds from its stop to the next fault's stop.
        ends = [int(f.stopped) for f in self.faults[1:]] + [sys.maxsize]
        for fault, end in zip(self.faults, ends, strict=True):
            recovered = fault.recovered or end
            bad_seconds = []
            for second, answers in timeline.items():
                if not int(fault.stopped) <= second < end:
                    continue
                errors = answers["5xx"] + answers["no_answer"]
                if second <= recovered:
                    fault.served += answers["served"]
                    fault.five_xx += answers["5xx"]
                    fault.unanswered += answers["no_answer"]
                if errors and second > recovered + AFTER_RECOVERY_GRACE:
                    fault.late_5xx += errors
                if errors:
                    bad_seconds.append(second)
            if bad_seconds:
                fault.window = (
                    int(min(bad_seconds) - fault.stopped),
                    int(max(bad_seconds) - fault.stopped + 1),
                )
            limit = FIVE_XX_LIMIT[fault.name]
            errors = fault.five_xx + fault.unanswered + fault.late_5xx
            recovery = None if fault.recovered is None else fault.recovered - fault.restarted
            allowed = "none after recovery" if limit is None else f"≤ {limit}"
            self.run.check(
                f"{fault.name}: 5xx {allowed}, full recovery ≤ {RECOVERY_LIMIT:.0f} s",
                recovery is not None
                and recovery <= RECOVERY_LIMIT
                and fault.late_5xx == 0
                and (limit is None or errors <= limit),
                f"{fault.five_xx} 5xx + {fault.unanswered} unanswered"
                + (f" {fault.window[0]}–{fault.window[1]} s after the stop" if fault.window else "")
                + f", {fault.late_5xx} after recovery; {fault.served} requests served degraded "
                "(while down or recovering); recovery "
                + ("never" if recovery is None else f"{recovery:.1f} s after the restart"),
            )

    def check_payments(self) -> None:
        """Orders paid in RDK = checkout sessions paid on the stand-in."""
        from orders.models import PAID_STATES, Order

        sessions = _standin_sessions(self.standin_url)
        paid_sessions = {s["id"] for s in sessions if s.get("payment_status") == "paid"}
        with loadtest._service_scope():
            paid_orders = set(
                Order.objects.filter(
                    created_at__gte=self.started_at, status__in=PAID_STATES
                ).values_list("checkout_session_id", flat=True)
            )
            created = Order.objects.filter(created_at__gte=self.started_at).count()
        unpaid = paid_sessions - paid_orders
        unknown = paid_orders - paid_sessions
        self.run.check(
            "orders paid = payments made (and the shop kept selling)",
            bool(paid_sessions) and not unpaid and not unknown,
            f"{len(paid_sessions)} sessions paid on the stand-in, {len(paid_orders)} orders paid "
            f"in RDK ({created} placed); paid but not in RDK {len(unpaid)}, paid in RDK "
            f"without a payment {len(unknown)}",
        )

    def check_webhooks(self) -> None:
        """Every event the stand-in delivered is stored once and handled; no
        order went to paid twice."""
        from django.db.models import Count

        from orders.models import OrderEvent, OrderStatus
        from payments.models import StripeEvent

        deliveries = _standin_json(self.standin_url + "/_standin/deliveries").get("deliveries", [])
        ids = {d.get("event") or d.get("event_id") or d.get("id") for d in deliveries}
        ids.discard(None)
        stored = dict(
            StripeEvent.objects.filter(stripe_id__in=ids).values_list("stripe_id", "status")
        )
        lost = ids - set(stored)
        unhandled = [i for i, s in stored.items() if s not in ("processed", "ignored")]
        with loadtest._service_scope():
            twice = (
                OrderEvent.objects.filter(
                    created_at__gte=self.started_at, to_status=OrderStatus.PAID, kind="status"
                )
                .values("order_id")
                .annotate(n=Count("id"))
                .filter(n__gt=1)
                .count()
            )
        self.run.check(
            "no webhook event lost or applied twice",
            bool(ids) and not lost and not unhandled and twice == 0,
            f"{len(ids)} events delivered by the stand-in, {len(stored)} stored, lost "
            f"{len(lost)}, not handled {len(unhandled)}; orders marked paid twice: {twice}",
        )

    def check_emails(self) -> None:
        """Every order email delivered exactly once although SMTP was down and
        the worker was killed inside a send (locustfiles/harness.py)."""
        harness.check_emails(self.run, self.sink, self.started_at)
        self.run.check(
            "the task worker was killed inside an SMTP send",
            bool(self.killed_mid_send),
            "held at RCPT by the SMTP server, then SIGKILL"
            if self.killed_mid_send
            else "no send reached the SMTP server in time: killed between tasks",
        )

    def check_processes(self) -> None:
        """No process gave up during a fault it was not the target of (the
        scheduler is supervised: it exits on purpose when it loses its lock)."""
        dead = [
            name
            for name, process in self.named.items()
            if process.popen is not None and process.popen.poll() is not None
        ]
        supervised = {"task worker": self.worker, "scheduler": self.scheduler}
        dead += [name for name, s in supervised.items() if s is None or not s.running]
        started = self.started_at.timestamp()
        self.run.check(
            "every process survived the others' faults (worker and scheduler: supervised)",
            not dead,
            ("all running" if not dead else "exited: " + ", ".join(dead))
            + "; restarted by their supervisor: "
            + "; ".join(
                f"{name} at "
                + (", ".join(f"{t - started:.0f} s" for t in s.restarts) if s.restarts else "-")
                for name, s in supervised.items()
                if s is not None
            )
            + " into the run",
        )

    def check_scheduler(self) -> None:
        """django-crontask exits when Redis restarts empty (its lock is gone);
        its supervisor starts it again. And after PostgreSQL restarted, its
        enqueues need a fresh connection (rdk.jobs.ScheduledTask). Proof it
        is back: the every-minute task was enqueued after both, no minute twice."""
        restarts = self.scheduler.restarts if self.scheduler else []
        postgresql = [f.recovered for f in self.faults if f.name == "postgresql" and f.recovered]
        since = max([*restarts, *postgresql, self.started_at.timestamp()])
        runs = harness.scheduled_runs(self.started_at)
        after = sum(n for minute, n in runs.items() if minute.timestamp() >= since)
        twice = sum(1 for n in runs.values() if n > 1)
        started = self.started_at.timestamp()
        self.run.check(
            "scheduler back on schedule after Redis and PostgreSQL restarts, no minute twice",
            after > 0 and twice == 0,
            f"restarted by its supervisor {len(restarts)} time(s), at "
            + (", ".join(f"{t - started:.0f} s" for t in restarts) or "-")
            + f" into the run; every-minute task enqueued {sum(runs.values())} time(s) in "
            f"{len(runs)} minute(s), {after} after {since - started:.0f} s (the last restart "
            f"or PostgreSQL's recovery); minutes twice: {twice}",
        )

    def check_reservations(self) -> None:
        """No stock lost: each size's reserved count is its active reservations."""
        from django.db import connection

        with loadtest._service_scope(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM catalog_variant v LEFT JOIN ("
                " SELECT variant_id, sum(quantity) AS n FROM orders_reservation"
                " WHERE status = 'active' GROUP BY variant_id) r ON r.variant_id = v.id"
                " WHERE v.stock_reserved <> coalesce(r.n, 0)"
            )
            drifted = cursor.fetchone()[0]
        self.run.check(
            "no stock lost (reserved = active reservations, size by size)",
            drifted == 0,
            f"{drifted} size(s) whose reserved count differs from their active reservations",
        )


def _get(url: str) -> int:
    try:
        return prodlike.http_get(url, timeout=3)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0


def _readiness(host: str) -> str:
    """/readyz's status ("ok", "degraded", "failing"), "down" when unreachable."""
    import urllib.request

    request = urllib.request.Request(host + "/readyz", headers=prodlike.FORWARDED_HEADERS)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=3) as response:  # noqa: S310  # nosec B310
            return json.loads(response.read()).get("status", "ok")
    except urllib.error.HTTPError:
        return "failing"
    except (OSError, ValueError):
        return "down"


def _standin_json(url: str) -> dict:
    import urllib.request

    request = urllib.request.Request(  # noqa: S310 (loopback)
        url, headers={"Authorization": f"Bearer {prodlike.STANDIN_SECRET_KEY}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310  # nosec B310
            return json.loads(response.read())
    except (OSError, ValueError):
        return {}


def _standin_sessions(base: str) -> list[dict]:
    sessions, after = [], ""
    while True:
        page = _standin_json(f"{base}/v1/checkout/sessions?limit=100{after}")
        sessions += page.get("data", [])
        if not page.get("has_more") or not page.get("data"):
            return sessions
        after = f"&starting_after={page['data'][-1]['id']}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("CHAOS_SECONDS", 160)))
    parser.add_argument("--steady", type=int, default=20, help="seconds before the first fault")
    parser.add_argument("--down", type=int, default=8, help="seconds each fault lasts")
    parser.add_argument("--port", type=int, default=int(os.environ.get("CHAOS_PORT", 10101)))
    parser.add_argument("--standin-port", type=int, default=10111)
    parser.add_argument("--redis-port", type=int, default=10179)
    parser.add_argument("--pg-port", type=int, default=10150)
    parser.add_argument("--smtp-port", type=int, default=10125)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--cleanup", action="store_true", help="only remove what a run left")
    args = parser.parse_args(argv)
    if not 120 <= args.seconds <= 900:
        parser.error("--seconds must be between 120 and 900")
    if (args.seconds - args.steady) / 5 < args.down + RECOVERY_LIMIT / 2:
        parser.error("--seconds is too short for five faults of --down seconds each")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        say("chaos: needs root (pg_createcluster for a PostgreSQL of its own).")
        return 2
    # One run at a time: a run's clean-up kills every process group listed in
    # PIDS, so a second run (or `--cleanup`) would take the first one's away.
    PIDS.path.parent.mkdir(parents=True, exist_ok=True)
    lock = (PIDS.path.parent / "chaos.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        say("chaos: another make chaos is running (var/chaos.lock); not touching it.")
        return 2
    leftovers = cleanup()
    if args.cleanup:
        say("chaos: removed " + (", ".join(leftovers) or "nothing"))
        return 0
    for binary in ("redis-server", "pg_createcluster"):
        if not shutil.which(binary):
            say(f"chaos: {binary} is not installed.")
            return 2
    results = harness.results_dir("chaos")
    chaos = Chaos(args, results)

    def teardown() -> None:
        for supervisor in (chaos.scheduler, chaos.worker):
            if supervisor is not None:
                supervisor.stop()
        with contextlib.suppress(ProcessLookupError, KeyError):
            os.killpg(chaos.named["stand-in"].pid, signal.SIGCONT)
        for process in reversed(chaos.stack.processes):
            process.stop(timeout=20)
        chaos.sink.stop()
        removed = cleanup()
        say(f"chaos: cleaned up ({', '.join(removed) or 'processes stopped'})")

    harness.carry_out(chaos.run, [chaos.set_up, chaos.under_load, chaos.after], teardown)
    return summarise(chaos)


def summarise(chaos: Chaos) -> int:
    """The faults, then locustfiles/run.py's summary (traffic table, counters,
    every check with its verdict, PASSED or FAILED)."""
    lines = ["", "RDK chaos run: faults (5xx includes unanswered requests)", ""]
    lines.append(
        f"  {'fault':<16} {'5xx':>5} {'no answer':>9} {'window (s)':>11} "
        f"{'degraded':>8} {'recovery':>9}"
    )
    for f in chaos.faults:
        recovery = "never" if f.recovered is None else f"{f.recovered - f.restarted:.1f} s"
        window = f"{f.window[0]}–{f.window[1]}" if f.window else "-"
        lines.append(
            f"  {f.name:<16} {f.five_xx:>5} {f.unanswered:>9} {window:>11} "
            f"{f.served:>8} {recovery:>9}"
        )
    print("\n".join(lines), flush=True)
    (chaos.results / "faults.txt").write_text("\n".join(lines) + "\n")
    args = argparse.Namespace(seconds=chaos.args.seconds)
    return loadtest.summarise(
        chaos.run, args, judge_latency_and_5xx=False, judge_webhook_rate=False
    )


if __name__ == "__main__":
    sys.exit(main())
