"""`make bench`: RDK under gunicorn with production-like settings, warmed,
measured with wrk on loopback. Prints figures; it is not a timed test."""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalog import selectors
from catalog.warming import cache_warm
from rdk import prodlike
from rdk.switches import LOCAL_TTL, switch_set

HEADERS = ["X-Forwarded-Proto: https"]


@dataclass
class Row:
    label: str
    path: str
    rps: float = 0.0
    p50: float = 0.0
    p99: float = 0.0
    errors: int = 0
    target: float | None = None
    queries: int | None = None
    rounds: list[tuple[float, float, float]] = field(default_factory=list)

    def settle(self) -> None:
        """Medians over the rounds: one noisy window must not decide a row."""
        self.rps = statistics.median(r[0] for r in self.rounds)
        self.p50 = statistics.median(r[1] for r in self.rounds)
        self.p99 = statistics.median(r[2] for r in self.rounds)

    @property
    def spread(self) -> str:
        values = [r[0] for r in self.rounds]
        return f"{min(values):.0f}–{max(values):.0f}"


# Catalog search (catalog/search.py): typo-tolerant queries through the page,
# the API, and the selector alone (pages are cached, the selector is not).
SEARCHES = ("jordn", "addidas", "air maxx", "retro high og")


def search_rows() -> list[Row]:
    return [
        Row("search page “jordn”", "/products?q=jordn"),
        Row("search + brand “air maxx”", "/products?q=air+maxx&brand=nike"),
        Row("/api/v1/products?search=addidas", "/api/v1/products?search=addidas"),
    ]


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
        stdout.write(
            f"  {term!r:<18} {page.count:>3} match(es)  median {statistics.median(times):.2f} ms"
            f"  max {max(times):.2f} ms  ({runs} runs)"
        )


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(output: str) -> tuple[float, float, float, int]:
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if found is None:
        raise CommandError(f"Could not read wrk's output:\n{output}")
    rps = float(found.group(1))
    latency = dict(re.findall(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+(?:us|ms|s|m))\s*$", output, re.M))

    def to_ms(text: str) -> float:
        number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
        return _ms(number, unit)

    if set(latency) != {"50", "99"}:
        raise CommandError(f"Could not read wrk's latency distribution:\n{output}")
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    return rps, to_ms(latency["50"]), to_ms(latency["99"]), errors


class Command(BaseCommand):
    help = (
        "Benchmark RDK under gunicorn with wrk: /healthz, catalog pages (warm and force-dynamic), "
        "a product page and the products API. Run through `make bench`."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8190)
        parser.add_argument("--duration", type=int, default=5, help="Seconds per wrk run.")
        parser.add_argument(
            "--rounds",
            type=int,
            default=3,
            help="Rounds over every row; the table shows medians (and the req/s spread).",
        )
        parser.add_argument("--connections", type=int, default=16)
        parser.add_argument("--workers", type=int, default=2, help="One per core.")
        parser.add_argument(
            "--threads",
            type=int,
            default=8,
            help="Threads per worker (gthread, keep-alive); 1 uses sync workers.",
        )

    def handle(self, *args, port, duration, rounds, connections, workers, threads, **options):
        if not 1 <= rounds <= 20 or not 1 <= duration <= 120:
            raise CommandError("--rounds must be 1–20 and --duration 1–120 seconds.")
        if not shutil.which("wrk"):
            raise CommandError("wrk is not installed (Debian: apt-get install wrk).")
        if settings.DEBUG or connection.vendor != "postgresql":
            raise CommandError("Run through `make bench`: DEBUG off, PostgreSQL and Redis.")
        slug = (selectors.product_slugs(limit=1) or [None])[0]
        if slug is None:
            raise CommandError("The catalog is empty; run manage.py seed_demo first.")
        base = f"http://127.0.0.1:{port}"
        rows = [
            Row("/healthz", "/healthz"),
            Row("catalog page (anonymous, warm)", "/products", target=0.6),
            Row("filtered catalog page", "/products?brand=nike&size=9&sort=price_asc", target=0.6),
            Row("product page", f"/products/{slug}", target=0.6),
            Row("catalog page, force-dynamic", "/products", target=0.05),
            Row("/api/v1/products", "/api/v1/products", target=0.4),
            *search_rows(),
        ]
        server = self._start(port, workers, threads)
        try:
            self._wait(base + "/healthz")
            started = time.monotonic()
            warmed = cache_warm()
            for row in rows:
                self._get(base + row.path)
            self.stdout.write(
                f"bench: gunicorn {workers} worker(s) × {threads} thread(s) on {base}; "
                f"warmed {len(warmed.pages)} page(s) in {time.monotonic() - started:.1f}s; "
                f"wrk {duration}s per row, {rounds} round(s), {connections} connections"
            )
            for number in range(1, rounds + 1):
                self.stdout.write(f"  round {number}/{rounds} …")
                for row in rows:
                    self._measure(row, base, duration, connections)
            for row in rows:
                row.settle()
        finally:
            server.stop(timeout=20)
        failed = self._report(rows, connections)
        search_query_report(self.stdout)
        if failed:
            raise CommandError(f"{failed} row(s) missed the issue's targets.")

    def _measure(self, row: Row, base: str, duration: int, connections: int) -> None:
        dynamic = row.target == 0.05
        if dynamic:
            switch_set(name="cache.force_dynamic", on=True, actor="bench", reason="bench")
            time.sleep(LOCAL_TTL * 2 + 0.2)  # every worker's switch copy expires
            row.queries = self._count_queries(row.path)
        try:
            rps, p50, p99, errors = parse_wrk(self._wrk(base + row.path, duration, connections))
        finally:
            if dynamic:
                switch_set(name="cache.force_dynamic", on=False, actor="bench", reason="bench")
                time.sleep(LOCAL_TTL * 2 + 0.2)
        row.rounds.append((rps, p50, p99))
        row.errors += errors

    def _start(self, port: int, workers: int, threads: int) -> prodlike.Process:
        log = Path(settings.BASE_DIR) / "var" / "bench" / f"gunicorn-{port}.log"
        self.stdout.write(f"bench: gunicorn's log: {log}")
        return prodlike.gunicorn(
            port=port, env={**os.environ}, log=log, workers=workers, threads=threads
        ).start()

    def _get(self, url: str) -> int:
        request = urllib.request.Request(url, headers=dict(h.split(": ") for h in HEADERS))  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback URL built here)  # nosec B310
            return response.status

    def _wait(self, url: str) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                if self._get(url) == 200:
                    return
            except (urllib.error.URLError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                raise CommandError(f"gunicorn did not answer {url} within 30s.")
            time.sleep(0.2)

    def _wrk(self, url: str, duration: int, connections: int) -> str:
        command = [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "--timeout",
            "5s",
        ]
        for header in HEADERS:
            command += ["-H", header]
        done = subprocess.run(  # noqa: S603 (fixed argv)
            [*command, url], capture_output=True, text=True, timeout=duration + 30, check=False
        )
        if done.returncode != 0:
            raise CommandError(f"wrk failed: {done.stderr.strip()}")
        return done.stdout

    def _count_queries(self, path: str) -> int:
        client = Client(HTTP_HOST="127.0.0.1")
        client.get(path, secure=True)
        with CaptureQueriesContext(connection) as queries:
            client.get(path, secure=True)
        return len(queries)

    def _report(self, rows: list[Row], connections: int) -> int:
        base = rows[0].rps or 1.0
        self.stdout.write("")
        header = (
            f"{'row':<34} {'req/s':>9} {'spread':>11} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'× healthz':>10}  result"
        )
        self.stdout.write(header)
        self.stdout.write("-" * len(header) + "-" * 30)
        failed = 0
        for row in rows:
            ratio = row.rps / base
            verdict = ""
            if row.target is not None:
                checks = [ratio >= row.target]
                notes = [f"≥ {row.target} ×"]
                if row.target == 0.6:
                    checks.append(row.p99 < 20)
                    notes.append("p99 < 20 ms")
                if row.queries is not None:
                    checks.append(row.queries <= 4)
                    notes.append(f"{row.queries} queries ≤ 4")
                if row.errors:
                    checks.append(False)
                    notes.append(f"{row.errors} errors")
                ok = all(checks)
                failed += not ok
                verdict = ("PASS" if ok else "FAIL") + " (" + ", ".join(notes) + ")"
            self.stdout.write(
                f"{row.label:<34} {row.rps:>9.0f} {row.spread:>11} {row.p50:>8.2f} {row.p99:>8.2f} "
                f"{ratio:>10.2f}  {verdict}"
            )
        self.stdout.write(
            f"\nMedians of every round; spread = lowest–highest req/s. "
            f"{connections} connections, loopback, {os.cpu_count()} CPU(s)."
        )
        return failed
