"""`make bench`'s checkout row (bench/mix.py): locust's CSV read into the row's
figures and verdict, a run without a checkout failing the row with a message,
and --checkout-seconds refused outside its range. The mix itself runs in
`make bench`; here locust (a process) is replaced by what it writes."""

from __future__ import annotations

import csv
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from bench import mix
from bench.rows import Row, rows_for, table
from rdk import loadmix

COLUMNS = [
    "Type", "Name", "Request Count", "Failure Count", "Median Response Time",
    "Average Response Time", "Min Response Time", "Max Response Time",
    "Average Content Size", "Requests/s", "Failures/s",
    "50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%",
]  # fmt: skip


def stats_row(kind: str, name: str, count: int, failures: int, rps: float, p50, p95, p99):
    values = [kind, name, count, failures, p50, p50, 1, p99, 512, rps, 0]
    values += [p50, p50, p50, p95, p95, p95, p99, p99, p99, p99, p99]
    return dict(zip(COLUMNS, map(str, values), strict=True))


def write_stats(folder, rows) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "locust_stats.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def mix_rows(*, checkout_p95: int, failures: int = 0) -> list[dict[str, str]]:
    return [
        stats_row("GET", "/cart", 80, 0, 2.1, 30, 90, 140),
        stats_row("POST", loadmix.CHECKOUT, 41, failures, 1.03, 64, checkout_p95, 210),
        stats_row("GET", "/products", 900, 0, 22.5, 8, 40, 95),
        stats_row("", "Aggregated", 1021, failures, 25.6, 10, 60, 150),
    ]


def checkout_row() -> Row:
    [row] = [row for row in rows_for(product_slug="air-max-1") if row.mix]
    return row


def floor() -> Row:
    from bench.wrk import Result

    row = Row("bare Django floor", "/", server="floor")
    row.results.append(Result(rps=400, p50=30, p95=50, p99=70, requests=2000, errors=0))
    return row


def test_the_checkout_row_is_selected_by_only_checkout_and_targets_p95_150_ms():
    row = checkout_row()
    assert row.label == "checkout under the locust mix"
    assert "checkout" in row.label  # `--only checkout`
    assert [r.label for r in rows_for(product_slug="x") if "checkout" in r.label] == [row.label]
    assert row.target.describe() == "p95 < 150 ms"


def test_the_checkout_request_of_locusts_csv_gives_the_rows_figures_and_verdict():
    row = checkout_row()
    row.results.append(mix.checkout_result(mix_rows(checkout_p95=140), {}))

    assert (row.median("rps"), row.median("p50"), row.median("p99")) == (1.03, 64, 210)
    assert row.verdict() == (True, "PASS (p95 140.0 < 150 ms)")
    lines, failed = table(floor(), [row])
    assert failed == 0
    line = lines[-1]
    assert line.startswith("checkout under the locust mix")
    assert line.split()[5:9] == ["1.03", "—", "64.00", "210.00"]  # req/s, no × floor, p50, p99
    assert line.endswith("p95 < 150 ms → PASS (p95 140.0 < 150 ms)")


@pytest.mark.parametrize(
    ("p95", "failures", "verdict"),
    [
        (150, 0, "FAIL (p95 150.0 < 150 ms)"),
        (120, 2, "FAIL (p95 120.0 < 150 ms; 2 errors)"),
    ],
)
def test_a_slow_or_failed_checkout_fails_the_row(p95, failures, verdict):
    row = checkout_row()
    row.results.append(mix.checkout_result(mix_rows(checkout_p95=p95, failures=failures), {}))

    assert row.verdict() == (False, verdict)
    assert table(floor(), [row])[1] == 1


def test_a_mix_without_a_checkout_fails_the_row_with_the_shoppers_counters():
    rows = [r for r in mix_rows(checkout_p95=100) if r["Name"] != loadmix.CHECKOUT]
    counters = {"shopper:product_sold_out": 12, "shopper:signed_in": 8, "webhook:sent": 90}
    with pytest.raises(mix.MixError) as raised:
        mix.checkout_result(rows, counters)
    message = str(raised.value)
    assert message.startswith("no /checkout (POST) was made under the mix")
    assert '"shopper:product_sold_out": 12' in message
    assert "webhook" not in message

    row = checkout_row()
    row.problem = message
    assert row.verdict() == (False, f"FAIL ({message})")
    lines, failed = table(floor(), [row])  # no figures, no exception
    assert failed == 1
    assert lines[-1].split()[5:9] == ["—", "—", "—", "—"]


def test_a_checkout_row_locust_wrote_with_no_request_counts_as_none():
    never = stats_row("POST", loadmix.CHECKOUT, 0, 0, 0, 0, 0, 0)
    never.update({column: "N/A" for column in COLUMNS[11:]})
    with pytest.raises(mix.MixError, match="no /checkout"):
        mix.checkout_result([never], {})


def test_the_mix_runs_against_the_bench_and_its_csv_is_read(monkeypatch, tmp_path):
    calls = []

    def locust(*, hosts, standin_url, seconds, files, webhook_secrets, steady_state):
        calls.append((hosts, standin_url, seconds, webhook_secrets, steady_state))
        write_stats(files.prefix.parent, mix_rows(checkout_p95=99))
        counters = {"shopper:checkout_started": 41, "stats:steady_state_after_s": 22}
        files.counters.write_text(json.dumps(counters))
        return 1  # some request failed somewhere in the mix

    folder = tmp_path / "locust"
    write_stats(folder, mix_rows(checkout_p95=999))  # an earlier run's: never read
    monkeypatch.setattr(loadmix, "locust_run", locust)
    outcome = mix.checkout_under_mix(
        base="http://127.0.0.1:8690",
        standin_url="http://127.0.0.1:8691",
        webhook_secrets=["whsec_a", "whsec_b"],
        seconds=60,
        folder=folder,
    )

    assert calls == [
        (["http://127.0.0.1:8690"], "http://127.0.0.1:8691", 60, "whsec_a,whsec_b", True)
    ]
    assert (outcome.result.p95, outcome.result.requests, outcome.status) == (99, 41, 1)
    assert outcome.describe(60) == (
        "the last 38s of 60s (every shopper signed up and in after 22s)"
    )


def test_a_mix_whose_ramp_up_never_ended_is_measured_whole():
    result = mix.checkout_result(mix_rows(checkout_p95=99), {})
    outcome = mix.MixOutcome(result=result, status=0, steady_after=None)

    assert outcome.describe(30) == (
        "the whole 30s run (the shoppers were still signing in at its end)"
    )


def test_a_locust_that_wrote_nothing_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(loadmix, "locust_run", lambda **kwargs: 2)
    with pytest.raises(mix.MixError, match="locust exited with status 2 and wrote no statistics"):
        mix.checkout_under_mix(
            base="http://127.0.0.1:1", standin_url="", webhook_secrets=[], seconds=20,
            folder=tmp_path,
        )  # fmt: skip


def test_a_locust_that_cannot_start_is_a_clear_error(monkeypatch, tmp_path):
    def missing(**kwargs):
        raise FileNotFoundError(2, "No such file or directory", ".venv/bin/locust")

    monkeypatch.setattr(loadmix, "locust_run", missing)
    with pytest.raises(mix.MixError, match=r"locust did not run: .*No such file"):
        mix.checkout_under_mix(
            base="http://127.0.0.1:1", standin_url="", webhook_secrets=[], seconds=20,
            folder=tmp_path,
        )  # fmt: skip


@pytest.mark.parametrize("seconds", ["5", "29", "601"])
def test_checkout_seconds_outside_30_to_600_is_refused(seconds):
    with pytest.raises(CommandError, match="--checkout-seconds must be 30–600"):
        call_command("bench", "--checkout-seconds", seconds)


def test_checkout_seconds_must_be_a_number():
    with pytest.raises(CommandError, match="--checkout-seconds: invalid int value"):
        call_command("bench", "--checkout-seconds", "forty")
