"""`make chaos`'s arithmetic (locustfiles/chaos.py): which answers a fault is
charged with, its 5xx window, what counts as served degraded, and the verdict.
The run itself needs root and a PostgreSQL cluster of its own; `make chaos`."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

import pytest

LOCUSTFILES = Path(__file__).resolve().parents[2] / "locustfiles"


@pytest.fixture
def chaos_module(monkeypatch):
    monkeypatch.syspath_prepend(str(LOCUSTFILES))
    module = importlib.import_module("chaos")
    yield module
    sys.modules.pop("chaos", None)


def _chaos(module, tmp_path, faults, timeline):
    (tmp_path / "timeline.json").write_text(json.dumps(timeline))
    args = argparse.Namespace(port=10101, standin_port=10111, smtp_port=10125, workers=2)
    chaos = module.Chaos(args, tmp_path)
    chaos.faults = faults
    chaos.judge_faults()
    return {check.name.split(":")[0]: check for check in chaos.run.checks}


def test_a_fault_is_charged_with_its_own_seconds_only(chaos_module, tmp_path):
    Fault = chaos_module.Fault
    redis = Fault("redis", stopped=1000.4, restarted=1008.4, recovered=1009.0)
    postgres = Fault("postgresql", stopped=1036.2, restarted=1044.2, recovered=1046.0)
    timeline = {
        "999": {"5xx": 5},  # before the first fault: nobody's
        "1001": {"served": 10, "5xx": 3},
        "1004": {"served": 7, "no_answer": 1},
        "1020": {"served": 50},  # after recovery: not degraded
        "1036": {"5xx": 9, "served": 1},  # the second fault's first second
        "1045": {"5xx": 2},
        "1060": {"served": 40},
    }
    checks = _chaos(chaos_module, tmp_path, [redis, postgres], timeline)

    assert (redis.five_xx, redis.unanswered, redis.served, redis.late_5xx) == (3, 1, 17, 0)
    assert redis.window == (0, 4)
    assert checks["redis"].ok is False  # Redis down must cost no 5xx
    assert (postgres.five_xx, postgres.served, postgres.window) == (11, 1, (0, 9))
    assert checks["postgresql"].ok is True  # 503s while down, none after recovery


def test_5xx_after_recovery_fail_even_where_5xx_are_allowed(chaos_module, tmp_path):
    postgres = chaos_module.Fault("postgresql", stopped=1000.0, restarted=1008.0, recovered=1010.0)
    timeline = {"1003": {"5xx": 4}, "1011": {"5xx": 1}, "1020": {"5xx": 2}}
    checks = _chaos(chaos_module, tmp_path, [postgres], timeline)

    assert postgres.late_5xx == 2  # 1011 is inside the grace; 1020 is not
    assert checks["postgresql"].ok is False


def test_a_fault_never_recovered_fails(chaos_module, tmp_path):
    worker = chaos_module.Fault("smtp + worker", stopped=1000.0, restarted=1008.0, recovered=None)
    checks = _chaos(chaos_module, tmp_path, [worker], {"1002": {"served": 3}})

    assert checks["smtp + worker"].ok is False
    assert "recovery never" in checks["smtp + worker"].figure
