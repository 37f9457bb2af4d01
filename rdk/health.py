"""Liveness (/healthz) and readiness (/readyz).

Liveness touches no dependency: it answers whenever the process can serve.
Readiness checks what a request needs (database, shared cache, applied
migrations, configuration), each timed, and answers 503 when any fails. Failure
reasons are the exception's class and a fixed phrase, never its message, which
can carry a connection string."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from rdk.rls import ROLE_BYPASS_SQL, rls_request_exempt, role_bypass_problem

logger = logging.getLogger(__name__)

CheckResult = dict[str, object]

_migrations_applied = False


def _database() -> None:
    """Reachable, and row security binds the role it connects as (the same
    round trip: on PostgreSQL the query that proves the connection reads the
    role's attributes)."""
    connection = connections[DEFAULT_DB_ALIAS]
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute("SELECT 1")
            cursor.fetchone()
            return
        cursor.execute(ROLE_BYPASS_SQL)
        problem = role_bypass_problem(cursor.fetchone())
    if problem:
        raise RuntimeError(problem)


def _cache() -> None:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    value = cache.get(key)
    cache.delete(key)
    if value != "1":
        raise RuntimeError("cache did not return what was stored")


def _migrations() -> None:
    # Once everything is applied it stays applied for this process's code.
    global _migrations_applied
    if _migrations_applied:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        raise RuntimeError(f"{len(plan)} migration(s) not applied")
    _migrations_applied = True


def _config() -> None:
    problems = settings.CONFIG.problems
    if problems:
        names = ", ".join(sorted({problem.name for problem in problems}))
        raise RuntimeError(f"invalid settings: {names}")


CHECKS: dict[str, Callable[[], None]] = {
    "database": _database,
    "cache": _cache,
    "migrations": _migrations,
    "config": _config,
}

_SAFE_REASONS = (RuntimeError,)


def _run(check: Callable[[], None]) -> CheckResult:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # every failure must become a 503, never a 500
        reason = (
            str(exc)
            if isinstance(exc, _SAFE_REASONS)
            else f"{type(exc).__name__}: unreachable or failing"
        )
        result: CheckResult = {"ok": False, "reason": reason}
    else:
        result = {"ok": True}
    result["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def readiness() -> tuple[bool, dict[str, CheckResult]]:
    results = {name: _run(check) for name, check in CHECKS.items()}
    return all(result["ok"] for result in results.values()), results


@rls_request_exempt
@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@rls_request_exempt
@require_safe
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    ok, checks = readiness()
    if not ok:
        failing = [name for name, result in checks.items() if not result["ok"]]
        logger.warning("readyz.failing", extra={"failing": failing})
    return JsonResponse(
        {"status": "ok" if ok else "failing", "checks": checks}, status=200 if ok else 503
    )
