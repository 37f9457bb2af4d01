"""Running wrk and reading what it prints.

Every run goes through `lua/report.lua`, which adds the 95th percentile and
the number of requests sent to wrk's own summary."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPORT_LUA = HERE / "lua" / "report.lua"


class WrkError(Exception):
    pass


@dataclass(frozen=True)
class Result:
    rps: float
    p50: float
    p95: float
    p99: float
    requests: int
    errors: int


def parse(output: str) -> Result:
    """wrk's summary plus the `rdk:` lines the Lua scripts print."""
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    marks = dict(re.findall(r"^rdk:(\w+)=([\d.]+)$", output, re.M))
    if found is None or not {"p50", "p95", "p99", "requests"} <= set(marks):
        raise WrkError(f"Could not read wrk's output:\n{output}")
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    return Result(
        rps=float(found.group(1)),
        p50=float(marks["p50"]) / 1000,  # wrk counts microseconds
        p95=float(marks["p95"]) / 1000,
        p99=float(marks["p99"]) / 1000,
        requests=int(float(marks["requests"])),
        errors=errors,
    )


def run(
    url: str,
    *,
    duration: int,
    connections: int,
    headers: dict[str, str],
) -> Result:
    """wrk with two threads against `url` for `duration` seconds."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "5s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command += ["-s", str(REPORT_LUA), url]
    done = subprocess.run(  # noqa: S603 (fixed argv)
        command, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    if done.returncode != 0:
        raise WrkError(f"wrk failed: {done.stderr.strip()}")
    return parse(done.stdout)
