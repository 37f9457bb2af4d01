"""Locust's mix (locustfiles/: anonymous browsing, signed-in shoppers who check
out through the Stripe stand-in, webhook senders, a sign-in hammer), run
headless for a fixed time, and the statistics it leaves.

One launcher for every tool that puts RDK under that mix: `make loadtest`,
`make chaos` and `make scaleout` (through locustfiles/run.py) and `make
bench`'s checkout row (bench/mix.py). Like rdk/prodlike.py it imports no app:
it starts a process and reads the CSV locust writes.

The locustfiles read their configuration from the environment
(locustfiles/shared.py): `LOADTEST_HOSTS`, `LOADTEST_STANDIN`,
`LOADTEST_COUNTERS`, `LOADTEST_STEADY_STATE`, and `STRIPE_WEBHOOK_SECRETS`,
the secret RDK verifies webhooks with (the senders sign with its first)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from rdk.env import BASE_DIR

LOCUSTFILES = ("locustfiles/webhooks.py", "locustfiles/catalog.py", "locustfiles/checkout.py")
USERS = 21  # the sum of the classes' fixed_count
# The shopper's order placed and handed over to Stripe (locustfiles/checkout.py),
# and issue 12's target for it under the mix.
CHECKOUT = "/checkout (POST)"
CHECKOUT_P95_MS = 150.0


@dataclass(frozen=True)
class Files:
    """Where one run leaves what it writes: `<prefix>_stats.csv` (and locust's
    other CSVs), the counters the locustfiles keep, locust's log and output."""

    prefix: Path
    counters: Path
    log: Path
    out: Path
    html: Path | None = None

    @classmethod
    def under(cls, folder: Path, *, html: bool = True) -> Files:
        return cls(
            prefix=folder / "locust",
            counters=folder / "counters.json",
            log=folder / "locust.log",
            out=folder / "locust.out",
            html=folder / "report.html" if html else None,
        )

    @property
    def stats(self) -> Path:
        return self.prefix.with_name(self.prefix.name + "_stats.csv")


def locust_run(
    *,
    hosts: list[str],
    standin_url: str,
    seconds: int,
    files: Files,
    webhook_secrets: str | None = None,
    steady_state: bool = False,
) -> int:
    """Locust's mix against `hosts` (virtual users spread over them) and the
    stand-in at `standin_url`, headless for `seconds`; locust's exit status
    (1 when a request failed; it still wrote its statistics). With
    `steady_state`, the statistics leave out the ramp-up: they start again once
    every shopper has signed up and in (the counter `stats:steady_state_after_s`
    says when)."""
    argv = [
        str(Path(sys.executable).with_name("locust")),
        "-f", ",".join(LOCUSTFILES),
        "--headless", "--users", str(USERS), "--spawn-rate", "2",
        "--run-time", f"{seconds}s", "--stop-timeout", "10",
        "--host", hosts[0],
        "--csv", str(files.prefix),
        "--only-summary", "--loglevel", "WARNING",
        "--logfile", str(files.log),
    ]  # fmt: skip
    if files.html is not None:
        argv += ["--html", str(files.html)]
    env = {
        **os.environ,
        "LOADTEST_HOSTS": ",".join(hosts),
        "LOADTEST_STANDIN": standin_url,
        "LOADTEST_COUNTERS": str(files.counters),
    }
    if webhook_secrets is not None:
        env["STRIPE_WEBHOOK_SECRETS"] = webhook_secrets
    if steady_state:
        env["LOADTEST_STEADY_STATE"] = "1"
    files.prefix.parent.mkdir(parents=True, exist_ok=True)
    with files.out.open("wb") as out:
        done = subprocess.run(  # noqa: S603 (fixed argv)
            argv,
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=seconds + 90,
            check=False,
        )
    return done.returncode


def stats_rows(path: Path) -> list[dict[str, str]]:
    """The rows of locust's `_stats.csv` as written (none when it is missing)."""
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@dataclass(frozen=True)
class RequestStats:
    """One named request of the run: counts, rate and percentiles (ms)."""

    name: str
    requests: int
    failures: int
    rps: float
    p50: float
    p95: float
    p99: float

    @classmethod
    def from_row(cls, row: dict[str, str]) -> RequestStats:
        """A row of `_stats.csv`; percentiles read 0 when locust wrote N/A
        (no request), which `requests` says."""

        def ms(column: str) -> float:
            value = row.get(column) or ""
            return float(value) if value.replace(".", "", 1).isdigit() else 0.0

        return cls(
            name=row["Name"],
            requests=int(row["Request Count"]),
            failures=int(row["Failure Count"]),
            rps=float(row["Requests/s"]),
            p50=ms("50%"),
            p95=ms("95%"),
            p99=ms("99%"),
        )


def request_stats(rows: list[dict[str, str]], name: str) -> RequestStats | None:
    """The statistics of the request named `name`, or None when it was never sent."""
    row = next((r for r in rows if r.get("Name") == name), None)
    if row is None or not int(row["Request Count"] or 0):
        return None
    return RequestStats.from_row(row)


def p95_check(rows: list[dict[str, str]], name: str, limit_ms: float) -> tuple[bool | None, str]:
    """Whether `name`'s p95 stayed under `limit_ms`, and the figure; None
    (not measured) when it was never sent."""
    stats = request_stats(rows, name)
    if stats is None:
        return None, "no requests"
    return stats.p95 < limit_ms, (
        f"p50 {stats.p50:.0f} ms, p95 {stats.p95:.0f} ms, {stats.requests} requests"
    )
