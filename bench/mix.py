"""The checkout row: locust's mix, exactly as `make loadtest` runs it
(rdk/loadmix.py: browsing, signed-in shoppers checking out through the Stripe
stand-in, webhook senders, a sign-in hammer), against the bench's own RDK and
stand-in for a bounded time, once per bench run. The row's figures are those
of the shoppers' `/checkout (POST)` (cart → order → Stripe hand-over) in the
CSV locust writes under var/bench/locust/."""

from __future__ import annotations

import json
import shutil
import subprocess
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


def checkout_under_mix(
    *, base: str, standin_url: str, webhook_secrets: list[str], seconds: int, folder: Path
) -> tuple[Result, int]:
    """Run the mix for `seconds` against RDK at `base`; the checkout row's
    result and locust's exit status. Raises MixError with what went wrong."""
    shutil.rmtree(folder, ignore_errors=True)  # never read an earlier run's CSV
    files = loadmix.Files.under(folder)
    try:
        status = loadmix.locust_run(
            hosts=[base],
            standin_url=standin_url,
            seconds=seconds,
            files=files,
            webhook_secrets=",".join(webhook_secrets),
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
    return checkout_result(rows, counters), status
