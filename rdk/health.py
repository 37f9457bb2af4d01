"""Liveness (/healthz) and readiness (/readyz).

Liveness touches no dependency: it answers whenever the process can serve, and
names the live release. Readiness checks what a request needs, each timed:

- the database, applied migrations and the configuration are *required*: when
  one fails the host cannot serve, `/readyz` answers 503 (`"status": "failing"`)
  and a balancer should take it out of rotation;
- the shared cache (Redis) is *degradable*: when it fails the host still serves,
  uncached, from PostgreSQL (`rdk.cache`), so `/readyz` stays 200 with
  `"status": "degraded"`. Every host shares the one Redis: a 503 here would pull
  them all at once and turn a cache outage into a full outage.

Failure reasons are the exception's class and a fixed phrase, never its
message, which can carry a connection string."""

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

from rdk.degradations import degradation_clear, degradations_active
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
        if connection.vendor == "postgresql":
            cursor.execute(ROLE_BYPASS_SQL)
            problem = role_bypass_problem(cursor.fetchone())
        else:
            cursor.execute("SELECT 1")
            cursor.fetchone()
            problem = None
    degradation_clear("database")  # reported by the 503s of rdk.views
    if problem:
        raise RuntimeError(problem)


def _cache() -> None:
    probe = getattr(cache, "probe", None)
    if probe is not None:  # rdk.cache.RedisCache: a ping past its retry pause
        probe()
        return
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
# Checks whose failure leaves the host serving, degraded (see the docstring).
DEGRADABLE = frozenset({"cache"})

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


def readiness() -> tuple[str, dict[str, CheckResult]]:
    """("ok" | "degraded" | "failing", each check's result)."""
    results = {name: _run(check) for name, check in CHECKS.items()}
    failed = {name for name, result in results.items() if not result["ok"]}
    for name in failed & DEGRADABLE:
        results[name]["degraded"] = True
    if failed - DEGRADABLE:
        return "failing", results
    return ("degraded" if failed else "ok"), results


@rls_request_exempt
@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok", "release": settings.RDK_RELEASE})


@rls_request_exempt
@require_safe
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    status, checks = readiness()
    if status != "ok":
        failing = [name for name, result in checks.items() if not result["ok"]]
        event = "readyz.degraded" if status == "degraded" else "readyz.failing"
        logger.warning(event, extra={"failing": failing})
    body = {
        "status": status,
        "checks": checks,
        "degradations": [
            {"dependency": item.name, "since": item.since, "summary": item.summary}
            for item in degradations_active()
        ],
    }
    return JsonResponse(body, status=503 if status == "failing" else 200)
