"""The release gate (RUNBOOK §3.1, `make release-check`): every deploy check
the runbook lists, run against the release in this checkout and the target
environment's file, ending in one verdict.

Steps: the target environment file validated (rdk/env.py); `makemigrations
--check`; a dry run of the pending migrations against the latest snapshot
restored into a scratch database (with the rollback verdict of each,
rdk/rollback.py); the OpenAPI schema diff (`make schema-check`); the type check
(`make typecheck`); the test suite (`make test`); `check --deploy` under the
target environment's settings. Each step runs as its own process, so one
failing does not hide the next.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings

from opsadmin.models import Snapshot
from opsadmin.services import snapshots
from rdk import env as schema
from rdk.rollback import project_verdicts

BASE_DIR = Path(settings.BASE_DIR)
STEPS = ("env", "migrations", "migrate-dry-run", "openapi", "types", "tests", "deploy-checks")

PASS, FAIL, SKIP = "pass", "FAIL", "skipped"


@dataclass
class StepResult:
    name: str
    status: str
    detail: str
    seconds: float = 0.0


@dataclass
class ReleaseGate:
    release: str
    env_file: str
    results: list[StepResult]

    @property
    def ok(self) -> bool:
        return all(result.status != FAIL for result in self.results)

    @property
    def verdict(self) -> str:
        skipped = [r.name for r in self.results if r.status == SKIP]
        failed = [r.name for r in self.results if r.status == FAIL]
        if failed:
            return f"NOT READY: release {self.release} failed {', '.join(failed)}."
        tail = f" ({', '.join(skipped)} skipped)" if skipped else ""
        return f"READY: release {self.release} passed every gate{tail}."


def _tail(text: str, lines: int = 8) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def _run(
    args: list[str], *, env: dict[str, str] | None = None, timeout: int = 3600
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(  # noqa: S603 (fixed programs, arguments we built)
            args,
            cwd=BASE_DIR,
            env=env if env is not None else dict(os.environ),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(args, 1, "", f"{args[0]} could not run: {exc}")


def _manage(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, str(BASE_DIR / "manage.py"), *args], env=env)


def _status(result: subprocess.CompletedProcess[str], passed: str) -> tuple[str, str]:
    if result.returncode == 0:
        return PASS, passed
    return FAIL, _tail(result.stdout + "\n" + result.stderr)


def target_release(values: dict[str, str]) -> str:
    """The release being checked: RDK_RELEASE in the target file, else this
    checkout's (RDK_RELEASE here, or `git describe`): /healthz reports the same."""
    return values.get("RDK_RELEASE") or settings.RDK_RELEASE


# Steps --------------------------------------------------------------------------------


def step_env(values: dict[str, str]) -> tuple[str, str]:
    config = schema.load(values)
    if config.problems:
        return FAIL, schema.format_problems(config)
    fallbacks = ", ".join(f"{name}: {state}" for name, state in schema.secret_fallbacks(config))
    return PASS, f"RDK_ENV={config.env}, {len(schema.SCHEMA)} variables valid. {fallbacks}"


def step_migrations(values: dict[str, str]) -> tuple[str, str]:
    return _status(_manage("makemigrations", "--check", "--dry-run"), "models and migrations agree")


def _database_url(db: dict[str, Any]) -> str:
    auth = quote(str(db.get("USER") or ""), safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(str(db["PASSWORD"]), safe="")
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return f"postgres://{auth}@{host}/{db['NAME']}"


def step_migrate_dry_run(values: dict[str, str]) -> tuple[str, str]:
    snapshot = Snapshot.objects.first()
    if snapshot is None:
        return FAIL, "No snapshot to dry-run the migrations on: run `snapshot create` first."
    if snapshot.engine != "postgresql":
        return FAIL, "The latest snapshot is not PostgreSQL's: take one on the target database."
    problems = snapshots._file_problems(snapshot)
    if problems:
        return FAIL, " ".join(problems)
    details: dict[str, Any] = {}
    with snapshots.scratch_database("rdk_releasecheck") as target:
        problem = snapshots.pg_restore_into(snapshot, target, details, snapshots._quiet)
        if problem:
            return FAIL, problem
        scratch = {**os.environ, "DATABASE_URL": _database_url(target)}
        plan = _manage("migrate", "--plan", env=scratch)
        result = _manage("migrate", "--no-input", env=scratch)
    if result.returncode != 0:
        return FAIL, "migrate failed on the restored snapshot:\n" + _tail(result.stderr)
    # `migrate --plan` lists "app.migration" flush left, its operations indented.
    pending: list[tuple[str, str]] = []
    for line in plan.stdout.splitlines():
        if line and not line[0].isspace() and "." in line and " " not in line.strip():
            app, _, name = line.strip().partition(".")
            pending.append((app, name))
    unsafe = [v for v in project_verdicts(pending) if not v.safe]
    names = ", ".join(f"{app}.{name}" for app, name in pending) or "none"
    summary = (
        f"{len(pending)} pending migration(s) applied to {snapshot.file_name} "
        f"(restored in {details.get('restore_ms')} ms): {names}"
    )
    if unsafe:
        summary += "; NOT rollback-safe: " + "; ".join(
            f"{app}.{name}: {v.reason}" for v in unsafe for app, name in [v.key]
        )
    return PASS, summary


def step_types(values: dict[str, str]) -> tuple[str, str]:
    """`make typecheck`, the command `make test` runs: mypy as configured in
    pyproject.toml, under settings of its own (nothing from the target's file)."""
    return _status(
        _run(["make", "--no-print-directory", "typecheck"]),
        "mypy found no type errors (strict: rdk/ and every services/selectors module)",
    )


def step_openapi(values: dict[str, str]) -> tuple[str, str]:
    return _status(
        _run(["make", "--no-print-directory", "schema-check"]),
        "openapi.yaml is valid and matches the code",
    )


def step_tests(values: dict[str, str]) -> tuple[str, str]:
    result = _run(["make", "--no-print-directory", "test"], timeout=4 * 3600)
    status, detail = _status(result, "")
    summary = [line for line in result.stdout.splitlines() if " passed" in line]
    return status, (summary[-1].strip("= ") if summary and status == PASS else detail)


def step_deploy_checks(values: dict[str, str]) -> tuple[str, str]:
    """`check --deploy` under the target's settings (and nothing from this shell)."""
    base = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "")}
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env={**base, **values})
    return _status(result, "Django's deployment checks found nothing")


RUNNERS: dict[str, Callable[[dict[str, str]], tuple[str, str]]] = {
    "env": step_env,
    "migrations": step_migrations,
    "migrate-dry-run": step_migrate_dry_run,
    "openapi": step_openapi,
    "types": step_types,
    "tests": step_tests,
    "deploy-checks": step_deploy_checks,
}


def release_check(
    *,
    env_file: str,
    skip: tuple[str, ...] = (),
    progress: Callable[[StepResult], None] = lambda result: None,
) -> ReleaseGate:
    """Run every step (except `skip`) for the environment in `env_file`.
    Raises OSError / rdk.env.InvalidValue when the file cannot be read."""
    values = schema.read_env_file(env_file)
    gate = ReleaseGate(release=target_release(values), env_file=env_file, results=[])
    for name in STEPS:
        if name in skip:
            result = StepResult(name, SKIP, "skipped by --skip")
        else:
            began = time.perf_counter()
            status, detail = RUNNERS[name](values)
            result = StepResult(name, status, detail, round(time.perf_counter() - began, 1))
        gate.results.append(result)
        progress(result)
    return gate
