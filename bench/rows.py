"""The rows `make bench` measures, their targets (issue 12), and the table.

Every RDK row is compared with the bare-Django floor measured in the same
round (`bench/floor`, served by the same gunicorn settings): the ratio is taken
inside each round, and the table shows the medians of the rounds."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from bench.wrk import Result
from rdk.loadmix import CHECKOUT, CHECKOUT_P95_MS


@dataclass(frozen=True)
class Target:
    """What a row must reach: a ratio to the floor (or to the naive page), a
    p99 or p95 ceiling in ms, or distinct events per second."""

    min_ratio: float | None = None
    of: str = "floor"  # or "naive": force-dynamic is compared with the naive page
    max_p99: float | None = None
    max_p95: float | None = None
    min_distinct_rps: float | None = None
    max_queries: int | None = None

    def describe(self) -> str:
        parts = []
        if self.min_ratio is not None:
            parts.append(f"≥ {self.min_ratio:g} × {self.of}")
        if self.min_distinct_rps is not None:
            parts.append(f"≥ {self.min_distinct_rps:g} events/s")
        if self.max_p99 is not None:
            parts.append(f"p99 < {self.max_p99:g} ms")
        if self.max_p95 is not None:
            parts.append(f"p95 < {self.max_p95:g} ms")
        if self.max_queries is not None:
            parts.append(f"≤ {self.max_queries} queries")
        return ", ".join(parts)


@dataclass
class Row:
    label: str
    path: str
    server: str = "rdk"  # "rdk" or "floor"
    signed_in: bool = False
    dynamic: bool = False  # measured with the cache.force_dynamic switch on
    webhook: bool = False
    mix: bool = False  # measured once per run under locust's mix (bench/mix.py), not by wrk
    target: Target | None = None
    results: list[Result] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)  # to the floor, per round
    ratios_naive: list[float] = field(default_factory=list)
    distinct_rps: list[float] = field(default_factory=list)
    queries: int | None = None
    problem: str = ""  # why the row could not be measured: it fails with this

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(r, attribute) for r in self.results)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.results)

    def verdict(self) -> tuple[bool | None, str]:
        if self.target is None:
            return None, ""
        if self.problem or not self.results:
            return False, f"FAIL ({self.problem or 'not measured'})"
        t, checks, notes = self.target, [], []
        if t.min_ratio is not None:
            ratio = statistics.median(self.ratios_naive if t.of == "naive" else self.ratios)
            checks.append(ratio >= t.min_ratio)
            notes.append(f"{ratio:.2f} ≥ {t.min_ratio:g} × {t.of}")
        if t.min_distinct_rps is not None:
            rate = statistics.median(self.distinct_rps)
            checks.append(rate >= t.min_distinct_rps)
            notes.append(f"{rate:.0f} ≥ {t.min_distinct_rps:g} distinct events/s")
        if t.max_p99 is not None:
            checks.append(self.median("p99") < t.max_p99)
            notes.append(f"p99 < {t.max_p99:g} ms")
        if t.max_p95 is not None:
            p95 = self.median("p95")
            checks.append(p95 < t.max_p95)
            notes.append(f"p95 {p95:.1f} < {t.max_p95:g} ms")
        if t.max_queries is not None and self.queries is not None:
            checks.append(self.queries <= t.max_queries)
            notes.append(f"{self.queries} queries ≤ {t.max_queries}")
        if self.errors:
            checks.append(False)
            notes.append(f"{self.errors} errors")
        ok = all(checks)
        return ok, ("PASS" if ok else "FAIL") + " (" + "; ".join(notes) + ")"


ANONYMOUS = Target(min_ratio=0.7, max_p99=15)
SIGNED_IN_PAGE = Target(min_ratio=0.25, max_p99=30)
SIGNED_IN_PERSONAL = Target(min_ratio=0.3)


def rows_for(*, product_slug: str) -> list[Row]:
    product = f"/products/{product_slug}"
    return [
        Row("/healthz", "/healthz", target=Target(min_ratio=0.9)),
        Row("anonymous /products, warm", "/products", target=ANONYMOUS),
        Row("anonymous product page, warm", product, target=ANONYMOUS),
        Row(
            "anonymous filtered /products",
            "/products?brand=nike&size=9&sort=price_asc",
            target=ANONYMOUS,
        ),
        Row("signed-in /products", "/products", signed_in=True, target=SIGNED_IN_PAGE),
        Row("signed-in product page", product, signed_in=True, target=SIGNED_IN_PAGE),
        Row("signed-in /cart", "/cart", signed_in=True, target=SIGNED_IN_PERSONAL),
        Row(
            "signed-in /account/orders",
            "/account/orders",
            signed_in=True,
            target=SIGNED_IN_PERSONAL,
        ),
        Row(
            "force-dynamic /products",
            "/products",
            dynamic=True,
            target=Target(min_ratio=2, of="naive", max_queries=4),
        ),
        Row("naive Django catalog page", "/naive", server="floor"),
        Row("/api/v1/products", "/api/v1/products"),
        # Catalog search (catalog/search.py): typo-tolerant queries, page and API.
        Row("search page “jordn”", "/products?q=jordn"),
        Row("search + brand “air maxx”", "/products?q=air+maxx&brand=nike"),
        Row("/api/v1/products?search=addidas", "/api/v1/products?search=addidas"),
        Row(
            "webhook inbox (20 % duplicates)",
            "/api/stripe/webhook",
            webhook=True,
            target=Target(min_distinct_rps=300, max_p95=50),
        ),
        # Cart → Stripe hand-over while the rest of `make loadtest`'s mix runs.
        Row(
            "checkout under the locust mix",
            CHECKOUT,
            mix=True,
            target=Target(max_p95=CHECKOUT_P95_MS),
        ),
    ]


def rows_selected(rows: list[Row], only: str) -> list[Row]:
    """The rows whose label contains any of the comma-separated terms of
    `only` (every row when it names none), in their order. The naive page comes
    along with a row measured against it: that row's ratio needs it."""
    terms = [term.strip() for term in only.split(",") if term.strip()]
    if not terms:
        return list(rows)
    chosen = [row for row in rows if any(term in row.label for term in terms)]
    if any(row.target and row.target.of == "naive" for row in chosen):
        naive = [row for row in rows if row.server == "floor"]
        chosen = [row for row in rows if row in chosen or row in naive]
    return chosen


def table(floor: Row, rows: list[Row]) -> tuple[list[str], int]:
    """The printed table and the number of rows that missed their target."""
    header = f"{'row':<34} {'req/s':>8} {'× floor':>8} {'p50 ms':>7} {'p99 ms':>7}  target → result"
    lines = [header, "-" * (len(header) + 40)]
    lines.append(
        f"{'bare Django floor':<34} {floor.median('rps'):>8.0f} {1:>8.2f} "
        f"{floor.median('p50'):>7.2f} {floor.median('p99'):>7.2f}  (the reference)"
    )
    failed = 0
    for row in rows:
        ok, verdict = row.verdict()
        failed += ok is False
        # The mix row has no ratio (once per run, not inside a round); a row that
        # could not be measured has no figures.
        ratio = f"{statistics.median(row.ratios):>8.3f}" if row.ratios else f"{'—':>8}"
        if row.results:
            rps = row.median("rps")  # the checkout row's is a few per second
            figures = (
                f"{rps:>8.{0 if rps >= 100 else 2}f} {ratio} "
                f"{row.median('p50'):>7.2f} {row.median('p99'):>7.2f}"
            )
        else:
            figures = f"{'—':>8} {ratio} {'—':>7} {'—':>7}"
        lines.append(
            f"{row.label:<34} {figures}  "
            f"{row.target.describe() if row.target else '—'}" + (f" → {verdict}" if verdict else "")
        )
    return lines, failed
