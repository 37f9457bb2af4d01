"""The slowest and most frequent statements from PostgreSQL's
`pg_stat_statements` (RUNBOOK §8 "slow queries"), and the recent slow requests
RDK recorded with their request ids (rdk/slowlog.py).

`pg_stat_statements` must be preloaded by the server and created in the
database; when it is not, the report says which step is missing and how to do
it instead of failing.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.db import DatabaseError, transaction
from django.db import connection as django_connection

from opsadmin.models import SlowRequest

ENABLE_STEPS = [
    "In postgresql.conf (on a managed PostgreSQL: its parameter group or flags) set "
    "shared_preload_libraries = 'pg_stat_statements', then restart PostgreSQL.",
    "As a superuser, in RDK's database: CREATE EXTENSION IF NOT EXISTS pg_stat_statements;",
    "So RDK's role sees every statement's text: GRANT pg_read_all_stats TO <RDK's role>;",
]

_STATEMENTS = """
    SELECT query, calls, total_exec_time, mean_exec_time, rows
    FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
    ORDER BY {order} DESC
    LIMIT %s
"""
_ORDERS = {"slowest": "mean_exec_time", "most_frequent": "calls"}


@dataclass(frozen=True)
class StatementStat:
    query: str
    calls: int
    total_ms: float
    mean_ms: float
    rows: int


@dataclass
class StatementReport:
    available: bool
    problem: str = ""
    how_to_enable: list[str] = field(default_factory=list)
    slowest: list[StatementStat] = field(default_factory=list)
    most_frequent: list[StatementStat] = field(default_factory=list)


def _unavailable(problem: str) -> StatementReport:
    return StatementReport(available=False, problem=problem, how_to_enable=ENABLE_STEPS)


def _fetch(conn: Any, sql: str, params: list) -> list[tuple]:
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def statement_report(*, limit: int = 10, connection: Any = None) -> StatementReport:
    """Top `limit` statements by mean time and by calls in the connected database
    (Django's, or `connection`, any DB-API connection to PostgreSQL)."""
    if connection is None and django_connection.vendor != "postgresql":
        return _unavailable("pg_stat_statements needs PostgreSQL; this database is not.")
    conn = connection or django_connection
    installed = _fetch(conn, "SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'", [])
    if not installed:
        return _unavailable("The pg_stat_statements extension is not created in this database.")
    report = StatementReport(available=True)
    try:
        # A savepoint on Django's connection: a failed read must not break the
        # transaction of the request showing it.
        with transaction.atomic() if connection is None else nullcontext():
            for name, order in _ORDERS.items():
                rows = _fetch(conn, _STATEMENTS.format(order=order), [limit])  # nosec B608
                setattr(report, name, [_stat(row) for row in rows])
    except (DatabaseError, psycopg.Error) as exc:
        if "shared_preload_libraries" in str(exc):
            return _unavailable(
                "The extension exists but the server did not preload pg_stat_statements."
            )
        return _unavailable(f"pg_stat_statements cannot be read: {str(exc).splitlines()[0]}")
    return report


def _stat(row: tuple) -> StatementStat:
    query, calls, total, mean, rows = row
    return StatementStat(
        query=" ".join(str(query).split())[:2000],
        calls=int(calls),
        total_ms=round(float(total), 2),
        mean_ms=round(float(mean), 2),
        rows=int(rows),
    )


def slow_requests_recent(limit: int = 50) -> list[SlowRequest]:
    return list(SlowRequest.objects.all()[:limit])
