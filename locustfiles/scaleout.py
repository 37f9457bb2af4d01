"""`make scaleout`: RDK on several hosts for real, and a load test that loses one.

Three hosts are Linux network namespaces (`rdkso1`..`rdkso3`) on a private
bridge (`rdkso0`, 10.77.0.0/24) inside this machine; each runs RDK under
gunicorn (rdk/prodlike.py) with production-like settings. In front of them,
on the bridge, the standard engines from Debian:

- HAProxy with the committed `deploy/haproxy.cfg` (health checks on /readyz,
  X-Forwarded-For and -Proto), which also gives the hosts their route to the
  Stripe stand-in (an egress proxy, as production hosts reach Stripe);
- pgbouncer in transaction mode with the committed `deploy/pgbouncer.ini`, in
  front of the machine's PostgreSQL (hosts run DATABASE_POOLER=pgbouncer-transaction);
- one Redis of its own, and an SMTP server of its own (in the runner);
- the task worker and the scheduler on host 1, and a second scheduler on host
  2 (both supervised, as systemd's Restart=always does): the scheduler lock
  in Redis must let exactly one of them enqueue each scheduled run.

Then locust's mix (locustfiles/run.py: browsing, signed-in checkout, webhooks,
abusive sign-ins) goes through the balancer while the runner (a) kills one
host hard and brings it back, and (b) restarts the others one by one with a
graceful shutdown (drained at the balancer first). Afterwards: the shared
state is checked host by host, the background work (each minute scheduled
once across the two schedulers, every task the web hosts enqueued run by host
1's worker, every order email delivered once), and a summary prints each
figure with its threshold. Exit status 0 only when every threshold holds.

Everything it creates (namespaces, bridge, processes, temporary files) is
removed on exit, also on failure or Ctrl-C; `--cleanup` removes what a killed
run left behind. Needs root (ip netns).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

import harness  # noqa: E402  (locustfiles/harness.py: what chaos and scaleout share)
import run as loadtest  # noqa: E402  (locustfiles/run.py: the one load-test launcher)

from rdk import prodlike  # noqa: E402

PREFIX = "rdkso"  # every namespace and interface this creates starts with it
BRIDGE = f"{PREFIX}0"
SUBNET = "10.77.0"
GATEWAY = f"{SUBNET}.1"  # the bridge: balancer, pgbouncer, Redis, Stripe egress
APP_PORT = 8000
BALANCER_PORT = 9680
PGBOUNCER_PORT = 9632
REDIS_PORT = 9679
STANDIN_PORT = 9611  # the stand-in itself, on loopback
STRIPE_EGRESS_PORT = 9612  # the hosts' way to it, through HAProxy
SMTP_PORT = 9625  # the run's SMTP server, on the bridge
WORKER_ID = "host1-worker"  # the one task worker's id, on host 1

# Thresholds.
ROUTE_AROUND_LIMIT = 5.0  # seconds from a host's death to the balancer dropping it
DOWN_PHASE_5XX = 0.005  # share of requests answered 5xx while a host dies
SESSIONS_KEPT = 1.0  # share of host changes after which the shopper stayed signed in


@dataclass
class Host:
    number: int
    workers: int
    threads: int
    env: dict[str, str] = field(default_factory=dict)
    process: prodlike.Process | None = None

    @property
    def name(self) -> str:
        return f"host{self.number}"

    @property
    def netns(self) -> str:
        return f"{PREFIX}{self.number}"

    @property
    def address(self) -> str:
        return f"{SUBNET}.{10 + self.number}"

    @property
    def url(self) -> str:
        return f"http://{self.address}:{APP_PORT}"


say = harness.say


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, check=check)  # noqa: S603


# The network ----------------------------------------------------------------------------


def network_up(hosts: list[Host]) -> None:
    """The bridge on the gateway address, one namespace per host joined to it by
    a veth pair. No route out: a host reaches only the bridge's addresses."""
    sh("ip", "link", "add", BRIDGE, "type", "bridge")
    sh("ip", "addr", "add", f"{GATEWAY}/24", "dev", BRIDGE)
    sh("ip", "link", "set", BRIDGE, "up")
    for host in hosts:
        outside, inside = f"{host.netns}h", f"{host.netns}p"
        sh("ip", "netns", "add", host.netns)
        sh("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
        sh("ip", "link", "set", inside, "netns", host.netns)
        sh("ip", "link", "set", outside, "master", BRIDGE, "up")
        inns = ("ip", "netns", "exec", host.netns)
        sh(*inns, "ip", "addr", "add", f"{host.address}/24", "dev", inside)
        sh(*inns, "ip", "link", "set", inside, "up")
        sh(*inns, "ip", "link", "set", "lo", "up")


PIDS = harness.ProcessGroups(BASE_DIR / "var" / "scaleout.pids")


def network_down() -> list[str]:
    """Remove every namespace and interface named rdkso*; what was removed."""
    removed = []
    for name in sh("ip", "netns", "list", check=False).stdout.split():
        if name.startswith(PREFIX):
            # Whatever still runs inside dies with its namespace's processes.
            pids = sh("ip", "netns", "pids", name, check=False).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            sh("ip", "netns", "delete", name, check=False)
            removed.append(f"netns {name}")
    links = sh("ip", "-o", "link", "show", check=False).stdout.splitlines()
    for line in links:
        name = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
        if name.startswith(PREFIX):
            sh("ip", "link", "delete", name, check=False)
            removed.append(f"link {name}")
    return removed


# HAProxy's admin socket -----------------------------------------------------------------


class Balancer:
    """HAProxy with deploy/haproxy.cfg, and its runtime API (stats, drain, ready)."""

    def __init__(self, hosts: list[Host], state: Path, results: Path) -> None:
        self.state = state
        egress = state / "stripe-egress.cfg"
        egress.write_text(
            "listen stripe_egress\n"
            f"    bind {GATEWAY}:{STRIPE_EGRESS_PORT}\n"
            f"    server standin 127.0.0.1:{STANDIN_PORT}\n"
        )
        env = {
            **os.environ,
            "RDK_LB_BIND": f"{GATEWAY}:{BALANCER_PORT}",
            "RDK_LB_STATE": str(state),
            **{f"RDK_HOST{h.number}": f"{h.address}:{APP_PORT}" for h in hosts},
        }
        argv = ["haproxy", "-db", "-f", str(BASE_DIR / "deploy" / "haproxy.cfg"), "-f", str(egress)]
        self.process = prodlike.Process("haproxy", argv, env=env, log=results / "haproxy.log")
        self.url = f"http://{GATEWAY}:{BALANCER_PORT}"

    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(5)
            conn.connect(str(self.state / "admin.sock"))
            conn.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def stats(self) -> dict[str, dict[str, str]]:
        """`show stat` by server name (FRONTEND for the clients' side)."""
        text = self.command("show stat").lstrip("# ")
        rows = csv.DictReader(io.StringIO(text))
        return {row["svname"]: row for row in rows if row["pxname"] in ("rdk", "rdk_hosts")}

    def status(self, host: Host) -> str:
        return self.stats()[host.name]["status"]

    def set_state(self, host: Host, state: str) -> None:
        self.command(f"set server rdk_hosts/{host.name} state {state}")

    def wait_status(self, host: Host, prefix: str, timeout: float) -> float | None:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.status(host).startswith(prefix):
                return time.monotonic() - started
            time.sleep(0.05)
        return None

    def totals(self) -> tuple[int, int]:
        """(requests, 5xx answers) the clients have had so far."""
        front = self.stats()["FRONTEND"]
        return int(front["req_tot"] or 0), int(front["hrsp_5xx"] or 0)


# Hosts ----------------------------------------------------------------------------------


def start_host(host: Host, results: Path) -> None:
    host.process = prodlike.gunicorn(
        port=APP_PORT,
        host="0.0.0.0",  # noqa: S104  (inside the host's own namespace)
        netns=host.netns,
        env=host.env,
        log=results / f"{host.name}.log",
        workers=host.workers,
        threads=host.threads,
    ).start()
    PIDS.remember(host.process)


def in_host(host: Host, code: str, timeout: float = 60) -> str:
    """`manage.py shell -c CODE` on `host` (its namespace, its environment)."""
    argv = ["ip", "netns", "exec", host.netns, sys.executable, "manage.py", "shell", "-c", code]
    done = subprocess.run(  # noqa: S603
        argv, cwd=BASE_DIR, env=host.env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"{host.name}: manage.py shell failed: {done.stderr.strip()[-400:]}")
    answers = [line[7:] for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    return answers[-1] if answers else ""


# The run --------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    requests: int = 0
    errors: int = 0


class Scaleout:
    def __init__(self, args: argparse.Namespace, results: Path, state: Path) -> None:
        self.args, self.results, self.state = args, results, state
        self.hosts = [Host(n, args.workers, args.threads) for n in range(1, args.hosts + 1)]
        self.run = loadtest.Run(results=results, hosts=[f"http://{GATEWAY}:{BALANCER_PORT}"])
        self.processes: list[prodlike.Process] = []
        self.balancer: Balancer | None = None
        self.phases: list[Phase] = []
        self.figures: dict[str, object] = {}
        self.sink = harness.SmtpSink(GATEWAY, SMTP_PORT)
        self.schedulers: list[prodlike.Supervisor] = []
        self.worker: prodlike.Supervisor | None = None

    # Set-up --------------------------------------------------------------------------

    def environments(self) -> dict[str, str]:
        balancer = f"http://{GATEWAY}:{BALANCER_PORT}"
        addresses = ",".join([GATEWAY, *(h.address for h in self.hosts), "localhost"])
        common = prodlike.environment(
            database=self.args.database,
            redis_db=0,
            site_url=balancer,
            stripe_api_base=f"http://{GATEWAY}:{STRIPE_EGRESS_PORT}",
            webhook_secret="whsec_rdk_scaleout_" + os.urandom(12).hex(),
            pg_host=GATEWAY,
            pg_port=PGBOUNCER_PORT,
            redis_host=GATEWAY,
            redis_port=REDIS_PORT,
            state_dir=self.state,
            extra={
                "ALLOWED_HOSTS": addresses,
                # An edge (locust's own X-Forwarded-For) in front of HAProxy.
                "TRUSTED_PROXY_COUNT": "2",
                "DATABASE_POOLER": "pgbouncer-transaction",
                "MEDIA_ROOT": str(self.state / "shared-volume" / "media"),
                "EMAIL_URL": self.sink.url,
            },
        )
        for host in self.hosts:
            # Each host serves its own copy of the static files; uploaded
            # images live on the one shared volume.
            host.env = {**common, "STATIC_ROOT": str(self.state / host.name / "static")}
        # The runner is the deploy job: it migrates and checks straight on PostgreSQL.
        return {
            **common,
            "DATABASE_URL": f"postgres://rdk@{self.args.pg_host}:{self.args.pg_port}/"
            f"{self.args.database}",
            "DATABASE_POOLER": "none",
            "STATIC_ROOT": str(self.state / "runner" / "static"),
        }

    def start(self, process: prodlike.Process) -> prodlike.Process:
        self.processes.append(process.start())
        PIDS.remember(process)
        return process

    def start_background_work(self) -> None:
        """The task worker on host 1; a scheduler on host 1 and one on host 2;
        each under a supervisor, as deploy/systemd/ has them (a scheduler that
        finds the lock taken waits LOCK_BLOCKING_TIMEOUT, 15 s, then exits)."""
        first, second = self.hosts[0], self.hosts[1]
        self.worker = prodlike.Supervisor(
            lambda: prodlike.manage(
                "db_worker", "--queue-name", "*", "--no-startup-delay", "-v", "0",
                "--worker-id", WORKER_ID,
                env=first.env, log=self.results / "worker-host1.log", netns=first.netns,
            ),
            remember=PIDS.remember,
            delay=2.0,
        ).start()  # fmt: skip
        for host in (first, second):
            log = self.results / f"scheduler-{host.name}.log"
            self.schedulers.append(
                prodlike.Supervisor(
                    lambda host=host, log=log: prodlike.manage(
                        "crontask", "--no-heartbeat", env=host.env, log=log, netns=host.netns
                    ),
                    remember=PIDS.remember,
                    delay=2.0,
                ).start()
            )

    def set_up(self) -> None:
        say(
            f"scaleout: network {SUBNET}.0/24 on {BRIDGE}, hosts "
            + ", ".join(f"{h.netns} {h.address}" for h in self.hosts)
        )
        network_up(self.hosts)
        runner_env = self.environments()
        os.environ.update(runner_env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rdk.settings")
        redis = prodlike.Process(
            "redis",
            ["redis-server", "--bind", GATEWAY, "--port", str(REDIS_PORT), "--save", "",
             "--appendonly", "no", "--protected-mode", "no", "--dir", str(self.state)],
            env={**os.environ}, log=self.results / "redis.log",
        )  # fmt: skip
        self.start(redis)
        prodlike.wait_for_port(GATEWAY, REDIS_PORT, process=redis)
        bouncer = prodlike.pgbouncer(
            listen=GATEWAY,
            port=PGBOUNCER_PORT,
            pg_host=self.args.pg_host,
            pg_port=self.args.pg_port,
            state_dir=self.state / "pgbouncer",
        )
        self.start(bouncer)
        prodlike.wait_for_port(GATEWAY, PGBOUNCER_PORT, process=bouncer)
        self.sink.start()

        import django

        django.setup()
        loadtest.prepare(self.run)  # migrate, demo catalog, an empty Redis
        # The release is built once (collectstatic, in prepare) and shipped to
        # every host, as an image would be; each host serves its own copy.
        for host in self.hosts:
            shutil.copytree(self.state / "runner" / "static", host.env["STATIC_ROOT"])
        standin = prodlike.manage(
            "stripe_standin",
            "--port", str(STANDIN_PORT),
            "--webhook-url", f"{self.run.hosts[0]}/api/stripe/webhook",
            "--webhook-header", "X-Forwarded-Proto: https",
            "--webhook-secret", runner_env["STRIPE_WEBHOOK_SECRETS"],
            env={**os.environ}, log=self.results / "standin.log",
        )  # fmt: skip
        self.start(standin)
        for host in self.hosts:
            start_host(host, self.results)
            self.processes.append(host.process)
        self.start_background_work()
        for host in self.hosts:
            prodlike.wait_until_ready(host.url + "/readyz", timeout=90, process=host.process.popen)
        prodlike.wait_until_ready(
            f"http://127.0.0.1:{STANDIN_PORT}/_standin/health", process=standin.popen
        )
        self.balancer = Balancer(self.hosts, self.state, self.results)
        self.start(self.balancer.process)
        prodlike.wait_for_port(GATEWAY, BALANCER_PORT, process=self.balancer.process)
        for host in self.hosts:
            if self.balancer.wait_status(host, "UP", timeout=15) is None:
                raise RuntimeError(f"the balancer never saw {host.name} UP")
        say(
            f"scaleout: {len(self.hosts)} hosts × {self.args.workers} gthread workers × "
            f"{self.args.threads} threads behind HAProxy {self.balancer.url}; pgbouncer "
            f"{GATEWAY}:{PGBOUNCER_PORT} → PostgreSQL; Redis {GATEWAY}:{REDIS_PORT}"
        )
        loadtest.warm_up([h.url for h in self.hosts])

    # The load and what happens to the hosts during it ----------------------------------

    def mark(self, name: str) -> None:
        """Close the current phase at the balancer's counters; open `name`."""
        requests, errors = self.balancer.totals()
        if self.phases:
            last = self.phases[-1]
            last.requests, last.errors = requests - last.requests, errors - last.errors
        if name:
            self.phases.append(Phase(name, requests, errors))
            say(f"scaleout: phase {name}")

    def under_load(self) -> None:
        seconds = self.args.seconds
        locust = threading.Thread(
            target=loadtest.locust,
            args=(self.run, seconds, f"http://127.0.0.1:{STANDIN_PORT}"),
            daemon=True,
        )
        started = time.monotonic()
        self.stock_before = loadtest.stock_snapshot()
        self.started_at = datetime.now(UTC)
        locust.start()

        def at(offset: float) -> None:
            time.sleep(max(0.0, started + offset - time.monotonic()))

        self.mark("steady, all hosts")
        at(seconds * 0.2)
        self.mark("one host killed")
        self.kill_one(self.hosts[-1])
        self.mark("rolling restart")
        for host in self.hosts[:-1]:
            self.restart_gracefully(host)
        self.mark("after")
        self.figures["rolling_done_at"] = time.monotonic() - started
        locust.join(timeout=seconds + 120)
        self.ended_at = datetime.now(UTC)
        self.mark("")
        if locust.is_alive():
            raise RuntimeError("locust did not stop in time")

    def kill_one(self, host: Host) -> None:
        """SIGKILL the whole gunicorn of `host`: no goodbye, in-flight requests cut."""
        os.killpg(host.process.popen.pid, signal.SIGKILL)
        host.process.popen.wait(timeout=10)
        killed = time.monotonic()
        down = self.balancer.wait_status(host, "DOWN", timeout=30)
        self.figures["route_around"] = down
        say(
            f"scaleout: {host.name} killed; balancer routed around it after "
            f"{'never' if down is None else f'{down:.2f}s'}"
        )
        # Back after a while, as an orchestrator would replace it.
        time.sleep(max(0.0, killed + 10 - time.monotonic()))
        start_host(host, self.results)
        self.processes.append(host.process)
        prodlike.wait_until_ready(host.url + "/readyz", timeout=90, process=host.process.popen)
        self.figures["back_up"] = self.balancer.wait_status(host, "UP", timeout=30)

    def restart_gracefully(self, host: Host) -> None:
        """Drain at the balancer, wait for its requests to finish, SIGTERM
        (gunicorn finishes what it holds), start, ready at the balancer."""
        began = time.monotonic()
        self.balancer.set_state(host, "drain")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and int(self.balancer.stats()[host.name]["scur"] or 0):
            time.sleep(0.05)
        host.process.stop(timeout=20)
        start_host(host, self.results)
        self.processes.append(host.process)
        prodlike.wait_until_ready(host.url + "/readyz", timeout=90, process=host.process.popen)
        self.balancer.set_state(host, "ready")
        up = self.balancer.wait_status(host, "UP", timeout=30)
        took = time.monotonic() - began
        self.figures.setdefault("rolling", []).append((host.name, took, up is not None))
        say(f"scaleout: {host.name} restarted gracefully in {took:.1f}s")

    # After the load ------------------------------------------------------------------------

    def after(self) -> None:
        loadtest.settle_webhooks(f"http://127.0.0.1:{STANDIN_PORT}", self.run)
        loadtest.FORWARDED_VIA[:] = [GATEWAY]  # the checks talk to each host directly
        self.run.hosts = [h.url for h in self.hosts]
        loadtest.scaleout_checks(self.run)
        self.check_static()
        self.check_images()
        harness.drain_tasks(self.started_at)
        self.check_one_scheduler()
        self.check_worker()
        harness.check_emails(self.run, self.sink, self.started_at)
        loadtest.stock_checks(self.run, self.stock_before, self.started_at)
        self.check_checkouts()

    def check_static(self) -> None:
        """The stylesheets and scripts a page names are the same bytes, under the
        same hashed names, on every host (each collected its own)."""
        names: dict[str, set[str]] = {}
        digests: dict[str, set[str]] = {}
        client = loadtest.Client("10.66.0.9")
        for host in self.hosts:
            page = client.request(host.url + "/")[2]
            found = set(re.findall(r'(?:href|src)="(/static/[^"]+)"', page))
            names[host.name] = found
            for path in found:
                status, _, body = client.request(host.url + path)
                key = hashlib.sha256(body.encode()).hexdigest() if status == 200 else "missing"
                digests.setdefault(path, set()).add(key)
        same_names = len({frozenset(v) for v in names.values()}) == 1 and any(names.values())
        same_bytes = all(len(v) == 1 and "missing" not in v for v in digests.values())
        self.run.check(
            "static files identical on every host",
            same_names and same_bytes,
            f"{len(digests)} file(s) named by / on {len(self.hosts)} hosts, hashed names "
            f"{'identical' if same_names else 'DIFFERENT'}, contents "
            f"{'identical' if same_bytes else 'DIFFERENT or missing'}",
        )

    def check_images(self) -> None:
        """A product image uploaded on host 1 (stored through its MEDIA_ROOT)
        is read back, byte for byte, by every host through its own settings."""
        upload = (
            "import hashlib, io\n"
            "from PIL import Image\n"
            "from django.core.files.base import ContentFile\n"
            "from catalog.models import Product, ProductImage\n"
            "buf = io.BytesIO(); Image.new('RGB', (64, 64), (200, 30, 30)).save(buf, 'PNG')\n"
            "p = Product.objects.filter(is_active=True).order_by('pk').first()\n"
            "img = ProductImage(product=p, alt_text='scaleout check', position=99)\n"
            "img.image.save('scaleout-check.png', ContentFile(buf.getvalue()), save=False)\n"
            "img.save()\n"
            "print('RESULT', img.pk, hashlib.sha256(buf.getvalue()).hexdigest())\n"
        )
        try:
            pk, digest = in_host(self.hosts[0], upload).split()
            read = (
                "import hashlib\nfrom catalog.models import ProductImage\n"
                f"i = ProductImage.objects.get(pk={int(pk)})\n"
                "print('RESULT', hashlib.sha256(i.image.open('rb').read()).hexdigest())\n"
            )
            seen = {h.name: in_host(h, read) == digest for h in self.hosts}
            in_host(self.hosts[0], f"from catalog.models import ProductImage\n"
                    f"i = ProductImage.objects.get(pk={int(pk)}); i.image.delete(save=False); "
                    "i.delete()")  # fmt: skip
        except (RuntimeError, ValueError, subprocess.TimeoutExpired) as exc:
            self.run.check("uploaded image reaches every host", False, str(exc))
            return
        self.run.check(
            "uploaded image reaches every host",
            all(seen.values()),
            "uploaded on host1; identical bytes read by "
            + ", ".join(f"{name} {'yes' if ok else 'NO'}" for name, ok in seen.items())
            + " (shared volume MEDIA_ROOT)",
        )

    def check_one_scheduler(self) -> None:
        """Two schedulers (hosts 1 and 2) ran the whole time; the every-minute
        task's recorded runs show each minute of the run enqueued exactly
        once: one of them held the Redis lock, the other stood by."""
        runs = harness.scheduled_runs(self.started_at)
        marks = harness.full_minutes(self.started_at, self.ended_at)
        twice = sum(1 for n in runs.values() if n > 1)
        both_up = all(s.running for s in self.schedulers)
        standby = {
            host.name: (self.results / f"scheduler-{host.name}.log")
            .read_text(errors="replace")
            .count("Another scheduler is already running")
            for host in self.hosts[:2]
        }
        restarts = {
            h.name: len(s.restarts) for h, s in zip(self.hosts, self.schedulers, strict=False)
        }
        self.figures["schedule"] = (marks, len(runs), twice)
        self.run.check(
            "one scheduler across hosts: each minute enqueued exactly once by two schedulers",
            marks >= 1 and len(runs) >= marks and twice == 0 and both_up,
            f"{marks} minute mark(s) in the run, {len(runs)} minute(s) with the every-minute "
            f"task enqueued ({sum(runs.values())} runs), minutes enqueued twice: {twice}; "
            "schedulers on host1 and host2 "
            + ("both running" if both_up else "NOT both running")
            + "; 'another scheduler is running' exits: "
            + ", ".join(f"{k} {v}" for k, v in standby.items())
            + "; supervisor restarts: "
            + ", ".join(f"{k} {v}" for k, v in restarts.items()),
        )

    def check_worker(self) -> None:
        """Every task enqueued during the run (emails by the web hosts, the
        schedule) was run, and by host 1's worker."""
        from django.db.models import Count
        from django_tasks_db.models import DBTaskResult

        tasks = DBTaskResult.objects.filter(enqueued_at__gte=self.started_at)
        by_status = dict(tasks.values_list("status").annotate(n=Count("id")).order_by())
        by_path = dict(tasks.values_list("task_path").annotate(n=Count("id")).order_by())
        workers = {w for ids in tasks.values_list("worker_ids", flat=True) for w in ids}
        emails = by_path.get("rdk.emails.deliver_email", 0)
        self.figures["tasks"] = (sum(by_status.values()), emails, sorted(workers))
        restarts = len(self.worker.restarts) if self.worker else 0
        self.run.check(
            "jobs enqueued by the web hosts run by the worker on host 1",
            emails > 0 and set(by_status) == {"SUCCESSFUL"} and workers == {WORKER_ID},
            f"{sum(by_status.values())} tasks enqueued ("
            + ", ".join(f"{k.rsplit('.', 1)[-1]} {v}" for k, v in sorted(by_path.items()))
            + "), by status "
            + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items()))
            + f"; run by: {', '.join(sorted(workers)) or 'nobody'} (worker restarts: {restarts})",
        )

    def check_checkouts(self) -> None:
        from orders.models import Order, OrderStatus

        counters = self.counters()
        with loadtest._service_scope():
            orders = Order.objects.filter(created_at__gte=self.started_at)
            created = orders.count()
            paid = (
                orders.exclude(status=OrderStatus.PENDING_PAYMENT)
                .exclude(status=OrderStatus.CANCELED)
                .count()
            )
        paid_on_stripe = counters.get("shopper:paid", 0)
        lost = max(0, paid_on_stripe - paid)
        self.figures["checkouts"] = (
            counters.get("shopper:checkout_started", 0),
            created,
            paid,
            lost,
        )
        self.run.check(
            "no checkout lost",
            lost == 0 and created > 0,
            f"started {counters.get('shopper:checkout_started', 0)}, orders {created}, paid on "
            f"the stand-in {paid_on_stripe}, paid in RDK {paid}, lost {lost}",
        )

    def counters(self) -> dict[str, int]:
        path = self.results / "counters.json"
        return json.loads(path.read_text()) if path.exists() else {}

    # The verdicts ----------------------------------------------------------------------

    def verdicts(self) -> None:
        counters = self.counters()
        for phase in self.phases:
            share = phase.errors / phase.requests if phase.requests else 0.0
            if phase.name == "one host killed":
                ok = phase.requests > 0 and share <= DOWN_PHASE_5XX
                limit = f"≤ {DOWN_PHASE_5XX:.1%}"
            else:  # the rolling restart above all: graceful means nobody notices
                ok = (phase.requests > 0 or phase.name == "after") and phase.errors == 0
                limit = "zero"
            self.run.check(
                f"5xx {limit} in phase '{phase.name}'",
                ok,
                f"{phase.requests} requests, {phase.errors} 5xx ({share:.2%}) at the balancer",
            )
        route, back = self.figures.get("route_around"), self.figures.get("back_up")
        self.run.check(
            f"balancer routes around a dead host ≤ {ROUTE_AROUND_LIMIT:.0f} s, takes it back",
            route is not None and route <= ROUTE_AROUND_LIMIT and back is not None,
            ("never" if route is None else f"{route:.2f} s from SIGKILL to DOWN")
            + "; back UP "
            + ("never" if back is None else f"{back:.1f} s after its restart was ready"),
        )
        rolling = self.figures.get("rolling", [])
        done_at = self.figures.get("rolling_done_at", float("inf"))
        self.run.check(
            "rolling restart completes under load, each host back in rotation",
            len(rolling) == len(self.hosts) - 1
            and all(ok for _, _, ok in rolling)
            and done_at < self.args.seconds,
            ", ".join(f"{name} {took:.1f} s" for name, took, _ in rolling)
            + f"; done {done_at:.0f} s into the {self.args.seconds} s run",
        )
        changes = counters.get("session:host_change", 0)
        kept = counters.get("session:kept_after_host_change", 0)
        self.run.check(
            "sessions survive a host change",
            changes > 0 and kept / changes >= SESSIONS_KEPT,
            f"{kept} of {changes} signed-in account pages served by another host than "
            "the shopper's previous request still signed in",
        )
        by_host = {h.name: counters.get(f"429:abusive:{h.name}", 0) for h in self.hosts}
        served = {h.name: counters.get(f"host:{h.name}", 0) for h in self.hosts}
        self.run.check(
            "rate limit counted across hosts (abusive client refused by every host)",
            all(by_host.values()),
            "429s to the abusive sign-ins by host: "
            + ", ".join(f"{k} {v}" for k, v in by_host.items())
            + "; all responses by host: "
            + ", ".join(f"{k} {v}" for k, v in served.items()),
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("SCALEOUT_SECONDS", 150)))
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database", default=os.environ.get("SCALEOUT_DB", "rdk_scaleout_lb"))
    parser.add_argument("--pg-host", default=os.environ.get("PG_HOST", "127.0.0.1"))
    parser.add_argument("--pg-port", type=int, default=int(os.environ.get("PG_PORT", "5432")))
    parser.add_argument("--cleanup", action="store_true", help="only remove what a run left")
    args = parser.parse_args(argv)
    if not 2 <= args.hosts <= 3:
        parser.error("--hosts must be 2 or 3")
    if not 90 <= args.seconds <= 900:
        parser.error("--seconds must be between 90 and 900")
    if not args.database.startswith("rdk_scale"):
        parser.error("--database must be named rdk_scale… (it is emptied of its cache)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        say("scaleout: needs root (ip netns, veth pairs, a bridge).")
        return 2
    leftovers = PIDS.kill_all() + network_down()
    if args.cleanup:
        say("scaleout: removed " + (", ".join(leftovers) or "nothing"))
        return 0
    for binary in ("haproxy", "pgbouncer", "redis-server"):
        if not shutil.which(binary) and not Path("/usr/sbin", binary).exists():
            say(f"scaleout: {binary} is not installed (apt-get install {binary}).")
            return 2
    results = harness.results_dir("scaleout")
    state = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-"))
    state.chmod(0o755)
    scaleout = Scaleout(args, results, state)

    def teardown() -> None:
        for supervisor in [*scaleout.schedulers, scaleout.worker]:
            if supervisor is not None:
                supervisor.stop()
        for process in reversed(scaleout.processes):
            process.stop(timeout=20)
        scaleout.sink.stop()
        removed = PIDS.kill_all() + network_down()
        pgbouncer_log = state / "pgbouncer" / "pgbouncer.log"
        if pgbouncer_log.exists():
            shutil.copy(pgbouncer_log, results / "pgbouncer.log")
        shutil.rmtree(state, ignore_errors=True)
        say(f"scaleout: cleaned up ({len(removed)} namespaces/interfaces removed)")

    completed = harness.carry_out(
        scaleout.run, [scaleout.set_up, scaleout.under_load, scaleout.after], teardown
    )
    if completed:
        scaleout.verdicts()
    return summarise(scaleout)


def summarise(scaleout: Scaleout) -> int:
    """The phases at the balancer, then locustfiles/run.py's summary (traffic
    table, counters, every check with its verdict, PASSED or FAILED)."""
    lines = ["", f"RDK scale-out: {len(scaleout.hosts)} hosts; phases at the balancer", ""]
    lines += [f"  {p.name:<22} {p.requests:>7} requests {p.errors:>5} 5xx" for p in scaleout.phases]
    started, created, paid, lost = scaleout.figures.get("checkouts", (0, 0, 0, 0))
    lines += [f"  checkouts: started {started}, orders {created}, paid {paid}, lost {lost}"]
    print("\n".join(lines), flush=True)
    (scaleout.results / "phases.txt").write_text("\n".join(lines) + "\n")
    args = argparse.Namespace(seconds=scaleout.args.seconds)
    return loadtest.summarise(scaleout.run, args, judge_latency_and_5xx=False)


if __name__ == "__main__":
    sys.exit(main())
