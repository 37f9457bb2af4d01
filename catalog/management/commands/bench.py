"""`make bench`: RDK under gunicorn with production-like settings, measured
with wrk on loopback against a bare-Django floor served the same way (issue
12, docs/performance.md). Prints figures; it is not a timed test."""

from __future__ import annotations

import os
import secrets
import shutil
import statistics
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench import wrk
from bench.mix import MixError, checkout_under_mix
from bench.profile import request_profile
from bench.rows import Row, rows_for, rows_selected, table
from bench.shopper import BenchError, shopper_sign_in
from bench.webhooks import deliveries_prepare, deliveries_send
from catalog import selectors
from catalog.models import Variant
from catalog.warming import cache_warm
from orders.services.cart import DbCartStore
from rdk import loadmix, prodlike
from rdk.rls import rls_scope
from rdk.switches import LOCAL_TTL, switch_set

FLOOR_DIR = Path(settings.BASE_DIR) / "bench" / "floor"
LOGS = Path(settings.BASE_DIR) / "var" / "bench"
SHOPPER = "shopper@bench.invalid"


class Command(BaseCommand):
    help = (
        "Benchmark RDK under gunicorn with wrk against a bare-Django floor: health, anonymous "
        "and signed-in pages, force-dynamic, the naive page, the webhook inbox and checkout "
        "under locust's mix, each with its issue-12 target. Run through `make bench`."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--port",
            type=int,
            default=8190,
            help="RDK; the Stripe stand-in uses port+1, the floor port+2.",
        )
        parser.add_argument("--duration", type=int, default=5, help="Seconds per wrk run.")
        parser.add_argument(
            "--rounds",
            type=int,
            default=3,
            help="Interleaved rounds over every row; the table shows medians.",
        )
        parser.add_argument("--connections", type=int, default=16)
        parser.add_argument("--workers", type=int, default=2, help="One per core.")
        parser.add_argument(
            "--threads", type=int, default=1, help="Threads per worker; 1 uses sync workers."
        )
        parser.add_argument(
            "--webhook-events",
            type=int,
            default=400,
            help="Distinct paid orders per round for the webhook row (plus 20 %% duplicates).",
        )
        parser.add_argument(
            "--checkout-seconds",
            type=int,
            default=60,
            help=(
                "How long locust's mix runs for the checkout row (once per bench run); "
                "its figures leave out the ramp-up (~20 s: every shopper signs up and in)."
            ),
        )
        parser.add_argument(
            "--profile",
            action="store_true",
            help="Print where one request's time goes (per middleware, per phase) and stop.",
        )
        parser.add_argument(
            "--only",
            default="",
            help=(
                "Measure only rows whose label contains one of these comma-separated terms "
                '("force-dynamic,naive"); a row compared with the naive page brings it along.'
            ),
        )

    def handle(self, *args, port, duration, rounds, connections, workers, threads, **options):
        if not 1 <= rounds <= 20 or not 1 <= duration <= 120:
            raise CommandError("--rounds must be 1–20 and --duration 1–120 seconds.")
        if not 10 <= options["webhook_events"] <= 5000:
            raise CommandError("--webhook-events must be 10–5000.")
        if not 30 <= options["checkout_seconds"] <= 600:
            # The ramp-up alone takes ~20 s: the 21 users arrive 2 a second, then sign in.
            raise CommandError("--checkout-seconds must be 30–600.")
        if not shutil.which("wrk"):
            raise CommandError("wrk is not installed (Debian: apt-get install wrk).")
        if settings.DEBUG or connection.vendor != "postgresql":
            raise CommandError("Run through `make bench`: DEBUG off, PostgreSQL and Redis.")
        if not settings.STRIPE_API_BASE:
            raise CommandError("The webhook row needs the Stripe stand-in (STRIPE_API_BASE).")
        slug = next(iter(selectors.product_slugs(limit=1)), None)
        if slug is None:
            raise CommandError("The catalog is empty; run manage.py seed_demo first.")
        if options["profile"]:
            self._profile(slug)
            return
        rows = rows_selected(rows_for(product_slug=slug), options["only"])
        if not rows:
            raise CommandError(f"No row's label contains any of {options['only']!r}.")
        per_round = [r for r in rows if not r.mix]
        floor = Row("bare Django floor", "/", server="floor")
        naive = next((r for r in rows if r.server == "floor"), None)
        bases = {"rdk": f"http://127.0.0.1:{port}", "floor": f"http://127.0.0.1:{port + 2}"}
        servers = self._start(port, workers, threads)
        try:
            for base in bases.values():
                prodlike.wait_until_ready(base + ("/readyz" if base == bases["rdk"] else "/"))
            started = time.monotonic()
            warmed = cache_warm()
            cookie = self._shopper(port, slug)
            self.stdout.write(
                f"bench: gunicorn {workers} worker(s) × {threads} thread(s) for RDK and the floor; "
                f"warmed {len(warmed.pages)} page(s) in {time.monotonic() - started:.1f}s; "
                f"wrk {duration}s per row, {rounds} interleaved round(s), "
                f"{connections} connections; "
                f"load: {os.getloadavg()[0]:.2f}"
            )
            for number in range(1, rounds + 1):
                self.stdout.write(f"  round {number}/{rounds} …")
                floor_rps = []
                for row in [floor, *per_round, floor]:
                    result = self._measure(row, bases, duration, connections, cookie, options)
                    if row is floor:
                        floor_rps.append(result.rps)
                floor_round = sum(floor_rps[-2:]) / 2  # before and after the round's rows
                naive_round = naive.results[-1].rps if naive else None
                for row in per_round:
                    row.ratios.append(row.results[-1].rps / floor_round)
                    if naive_round:
                        row.ratios_naive.append(row.results[-1].rps / naive_round)
            for row in rows:
                if row.mix:
                    self._mix(row, bases["rdk"], options["checkout_seconds"])
        finally:
            for server in servers:
                server.stop(timeout=20)
        lines, failed = table(floor, rows)
        self.stdout.write("\n" + "\n".join(lines))
        search_query_report(self.stdout)
        self.stdout.write(
            f"\nMedians of {rounds} round(s); × floor is taken inside each round. "
            f"{connections} connections, loopback, {os.cpu_count()} CPU(s), "
            f"load average now {os.getloadavg()[0]:.2f}."
        )
        if any(row.mix for row in rows):
            self.stdout.write(
                f"The checkout row is locust's mix (`make loadtest`'s, {loadmix.USERS} users) "
                f"run once for {options['checkout_seconds']}s after the rounds, not per round "
                f"(no × floor), measured once every shopper had signed up and in; "
                f"{LOGS / 'locust'}/ holds its CSV and log."
            )
        if failed:
            raise CommandError(f"{failed} row(s) missed the issue's targets.")

    def _measure(self, row: Row, bases, duration, connections, cookie, options) -> wrk.Result:
        if row.webhook:
            result = self._webhooks(row, bases, connections, options["webhook_events"])
            row.results.append(result)
            return result
        headers = dict(prodlike.FORWARDED_HEADERS)
        if row.signed_in:
            headers["Cookie"] = cookie
        if row.dynamic:
            self._force_dynamic(True)
            row.queries = self._count_queries(row.path)
        try:
            result = wrk.run(
                bases[row.server] + row.path,
                duration=duration,
                connections=connections,
                headers=headers,
            )
        except wrk.WrkError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if row.dynamic:
                self._force_dynamic(False)
        row.results.append(result)
        return result

    def _mix(self, row: Row, base: str, seconds: int) -> None:
        self.stdout.write(
            f"  checkout row: locust's mix, {loadmix.USERS} users for {seconds}s (once) …"
        )
        try:
            outcome = checkout_under_mix(
                base=base,
                standin_url=settings.STRIPE_API_BASE,
                webhook_secrets=settings.STRIPE_WEBHOOK_SECRETS,
                seconds=seconds,
                folder=LOGS / "locust",
            )
        except MixError as exc:
            row.problem = str(exc)
            self.stdout.write(f"    checkout row: {exc}")
            return
        result = outcome.result
        row.results.append(result)
        self.stdout.write(
            f"    checkout row: {result.requests} checkout(s), {result.errors} failed, in "
            f"{outcome.describe(seconds)}; locust exited with status {outcome.status}; "
            f"load: {os.getloadavg()[0]:.2f}"
        )

    def _webhooks(self, row: Row, bases, connections: int, events: int) -> wrk.Result:
        preparing = time.monotonic()
        deliveries = deliveries_prepare(distinct=events)
        self.stdout.write(
            f"    webhook row: {events} orders placed and paid in "
            f"{time.monotonic() - preparing:.1f}s; sending {len(deliveries.payloads)} deliveries"
        )
        port = int(bases["rdk"].rsplit(":", 1)[1])
        sent = deliveries_send(port=port, deliveries=deliveries, connections_count=connections)
        result = sent.result
        self.stdout.write(
            f"    webhook row: the sending client spent {sent.client_cpu_ms:.2f} ms of CPU per "
            f"delivery ({sent.client_cpu_ms * result.rps / 10:.0f} % of one core)"
        )
        delivered = deliveries.delivered()
        if delivered != events:
            raise CommandError(f"The inbox stored {delivered} of {events} distinct events.")
        row.distinct_rps.append(result.rps * events / len(deliveries.payloads))
        return result

    def _force_dynamic(self, on: bool) -> None:
        switch_set(name="cache.force_dynamic", on=on, actor="bench", reason="bench")
        time.sleep(LOCAL_TTL * 2 + 0.2)  # every worker's switch copy expires

    def _shopper(self, port: int, slug: str) -> str:
        password = secrets.token_urlsafe(16)
        user, _ = get_user_model().objects.get_or_create(
            username=SHOPPER, defaults={"email": SHOPPER}
        )
        user.set_password(password)
        user.save(update_fields=["password"])
        try:
            browser = shopper_sign_in(
                port=port, username=SHOPPER, password=password, product_slug=slug
            )
        except BenchError as exc:
            raise CommandError(str(exc)) from exc
        return browser.cookie_header

    def _start(self, port: int, workers: int, threads: int) -> list[prodlike.Process]:
        self.stdout.write(f"bench: gunicorn's logs: {LOGS}/gunicorn-*.log")
        database = settings.DATABASES["default"]
        floor_env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "floorsite.settings",
            "FLOOR_DATABASE_NAME": database["NAME"],
            "FLOOR_DATABASE_USER": database["USER"],
            "FLOOR_DATABASE_HOST": database["HOST"],
            "FLOOR_DATABASE_PORT": str(database["PORT"]),
        }
        # As `make loadtest` starts it: the checkout row's payments are delivered
        # through the balancer's header, signed with the secret RDK verifies.
        standin = prodlike.manage(
            "stripe_standin",
            "--port", str(port + 1),
            "--webhook-url", f"http://127.0.0.1:{port}/api/stripe/webhook",
            "--webhook-header", "X-Forwarded-Proto: https",
            "--webhook-secret", settings.STRIPE_WEBHOOK_SECRETS[0],
            env={**os.environ},
            log=LOGS / f"standin-{port + 1}.log",
        )  # fmt: skip
        return [
            standin.start(),
            prodlike.gunicorn(
                port=port,
                env={**os.environ},
                log=LOGS / f"gunicorn-{port}.log",
                workers=workers,
                threads=threads,
            ).start(),
            prodlike.gunicorn(
                port=port + 2,
                env=floor_env,
                log=LOGS / f"floor-{port + 2}.log",
                workers=workers,
                threads=threads,
                app="floorsite.wsgi:application",
                chdir=FLOOR_DIR,
            ).start(),
        ]

    def _profile(self, slug: str) -> None:
        """In-process, DEBUG off, the bench database and Redis."""
        user, _ = get_user_model().objects.get_or_create(
            username=SHOPPER, defaults={"email": SHOPPER}
        )
        with rls_scope(user=user):
            variant = Variant.objects.filter(product__slug=slug).first()
            if variant is None:
                raise CommandError(f"{slug} has no sizes; run manage.py seed_demo first.")
            DbCartStore(user).put(variant.pk, 1, variant.price_amount)
        cache_warm()
        anonymous = Client(HTTP_HOST="127.0.0.1")
        signed_in = Client(HTTP_HOST="127.0.0.1")
        signed_in.force_login(user)
        for client, path in (
            (anonymous, "/healthz"),
            (anonymous, "/products"),
            (signed_in, "/products"),
            (signed_in, f"/products/{slug}"),
            (signed_in, "/cart"),
            (signed_in, "/account/orders"),
        ):
            who = "signed-in" if client is signed_in else "anonymous"
            lines, _ = request_profile(client, path)
            self.stdout.write(f"{who} " + "\n".join(lines) + "\n")

    def _count_queries(self, path: str) -> int:
        client = Client(HTTP_HOST="127.0.0.1")
        client.get(path, secure=True)
        with CaptureQueriesContext(connection) as queries:
            client.get(path, secure=True)
        return len(queries)


SEARCHES = ("jordn", "addidas", "air maxx", "retro high og")


def search_query_report(stdout, *, runs: int = 50) -> None:
    """Median and worst time of one search page query, uncached, per term."""
    stdout.write("\nSearch query (selector, uncached):")
    for term in SEARCHES:
        filters = selectors.ProductFilters(search=term, sort="relevance")
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            page = selectors.product_card_page(filters=filters, number=1, per_page=24)
            times.append((time.perf_counter() - started) * 1000)
        count = page.count if page else 0
        stdout.write(
            f"  {term!r:<18} {count:>3} match(es)  median {statistics.median(times):.2f} ms"
            f"  max {max(times):.2f} ms  ({runs} runs)"
        )
