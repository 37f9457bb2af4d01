"""The checkout row: locust's mix, exactly as `make loadtest` runs it
(rdk/loadmix.py: browsing, signed-in shoppers checking out through the Stripe
stand-in, webhook senders, a sign-in hammer), against the bench's own RDK and
stand-in for a bounded time, once per bench run. The row's figures are those
of the shoppers' `/checkout (POST)` (cart → order → Stripe hand-over) in the
CSV locust writes under var/bench/locust/.

They describe the mix's steady state: locust's statistics start again once
every shopper has signed up and in. Before that, 8 sign-ups and 8 sign-ins
(and the sign-in hammer's first guesses) each hold one of the bench's two sync
workers for a password hash (~0.5 s of CPU), and whatever queues behind them
waits that long: a ramp-up artefact of the load generator, which `make
loadtest` (gthread workers, whole run judged) keeps in its figures."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.wrk import Result
from rdk import loadmix


class MixError(Exception):
    """The mix did not run, or ran without one checkout: the row fails with this."""


def checkout_result(rows: list[dict[str, str]], counters: dict[str, int]) -> Result:
    """The checkout row's figures from locust's `_stats.csv` rows; MixError
    when no checkout was posted (the shoppers' counters say why)."""
    stats = loadmix.request_stats(rows, loadmix.CHECKOUT)
    if stats is None:
        shoppers = {k: v for k, v in sorted(counters.items()) if k.startswith("shopper:")}
        raise MixError(
            f"no {loadmix.CHECKOUT} was made under the mix"
            + (f" (shoppers: {json.dumps(shoppers)})" if shoppers else "")
        )
    return Result(
        rps=stats.rps,
        p50=stats.p50,
        p95=stats.p95,
        p99=stats.p99,
        requests=stats.requests,
        errors=stats.failures,
    )


@dataclass(frozen=True)
class MixOutcome:
    result: Result
    status: int  # locust's exit status (1: some request of the mix failed)
    steady_after: int | None  # seconds of ramp-up left out; None: the whole run

    def describe(self, seconds: int) -> str:
        if self.steady_after is None:
            return f"the whole {seconds}s run (the shoppers were still signing in at its end)"
        return (
            f"the last {seconds - self.steady_after}s of {seconds}s "
            f"(every shopper signed up and in after {self.steady_after}s)"
        )


def checkout_under_mix(
    *, base: str, standin_url: str, webhook_secrets: list[str], seconds: int, folder: Path
) -> MixOutcome:
    """Run the mix for `seconds` against RDK at `base`; the checkout row's
    result measured after the ramp-up. Raises MixError with what went wrong."""
    shutil.rmtree(folder, ignore_errors=True)  # never read an earlier run's CSV
    files = loadmix.Files.under(folder)
    try:
        status = loadmix.locust_run(
            hosts=[base],
            standin_url=standin_url,
            seconds=seconds,
            files=files,
            webhook_secrets=",".join(webhook_secrets),
            steady_state=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise MixError(f"locust did not run: {exc}") from exc
    rows = loadmix.stats_rows(files.stats)
    if not rows:
        raise MixError(
            f"locust exited with status {status} and wrote no statistics; "
            f"see {files.out} and {files.log}"
        )
    counters = json.loads(files.counters.read_text()) if files.counters.exists() else {}
    return MixOutcome(
        result=checkout_result(rows, counters),
        status=status,
        steady_after=counters.get("stats:steady_state_after_s"),
    )
