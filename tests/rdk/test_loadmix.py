"""`make loadtest`'s latency checks (locustfiles/run.py's summary over the CSV
locust writes, read by rdk/loadmix.py): the pages at p95 < 200 ms and, issue
12's row, the shoppers' checkout (cart → Stripe hand-over) at p95 < 150 ms."""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from rdk import loadmix
from tests.bench.test_mix import mix_rows, stats_row, write_stats

BASE_DIR = Path(__file__).resolve().parents[2]
CHECKOUT_CHECK = "p95 < 150 ms: checkout (cart → Stripe hand-over)"


@pytest.fixture
def loadtest(monkeypatch):
    monkeypatch.syspath_prepend(str(BASE_DIR / "locustfiles"))
    module = importlib.import_module("run")
    yield module
    sys.modules.pop("run", None)


@pytest.fixture
def results():
    """A results folder where the summary names its report (under the repo)."""
    (BASE_DIR / "var").mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="test-loadmix-", dir=BASE_DIR / "var"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def checks(loadtest, results, rows, **judging) -> dict[str, object]:
    write_stats(results, rows)
    run = loadtest.Run(results=results, hosts=["http://127.0.0.1:8201"])
    loadtest.summarise(run, argparse.Namespace(seconds=60), **judging)
    return {check.name: check for check in run.checks}


@pytest.mark.parametrize(("p95", "ok"), [(140, True), (150, False), (400, False)])
def test_the_checkout_is_judged_at_p95_under_150_ms(loadtest, results, capsys, p95, ok):
    found = checks(loadtest, results, mix_rows(checkout_p95=p95))

    check = found[CHECKOUT_CHECK]
    assert check.ok is ok
    assert check.figure == f"p50 64 ms, p95 {p95} ms, 41 requests"
    verdict = "PASS" if ok else "FAIL"
    assert f"  {verdict}  {CHECKOUT_CHECK}: p50 64 ms" in capsys.readouterr().out
    assert found["p95 < 200 ms: /products"].ok is True  # the pages keep their limit


def test_a_run_without_a_checkout_cannot_pass_it(loadtest, results, capsys):
    found = checks(loadtest, results, [stats_row("GET", "/products", 90, 0, 3, 8, 40, 90)])

    assert found[CHECKOUT_CHECK].ok is None  # counts as a failure
    assert found[CHECKOUT_CHECK].figure == "no requests"
    assert "loadtest: FAILED" in capsys.readouterr().out


def test_runs_that_do_not_judge_latency_leave_the_checkout_out(loadtest, results):
    # make scaleout: hosts with too few cores to judge p95.
    found = checks(loadtest, results, mix_rows(checkout_p95=400), judge_latency_and_5xx=False)

    assert CHECKOUT_CHECK not in found


def test_the_stats_of_a_request_never_sent_are_none(tmp_path):
    write_stats(tmp_path, mix_rows(checkout_p95=100))
    rows = loadmix.stats_rows(loadmix.Files.under(tmp_path).stats)

    assert loadmix.request_stats(rows, "/nowhere") is None
    assert loadmix.request_stats(rows, loadmix.CHECKOUT).p95 == 100
    assert loadmix.stats_rows(tmp_path / "missing.csv") == []
