"""Integrity checks run against a restored database snapshot.

The snapshot restore check (opsadmin, `manage.py snapshot restore-check`)
restores the latest snapshot into a temporary database and runs every check
registered here against it. Apps add their own invariants without importing
opsadmin, typically in `AppConfig.ready()`:

    from rdk.integrity import register_integrity_check

    @register_integrity_check("orders.paid_order_has_payment")
    def paid_orders_have_payments(target: RestoredDatabase) -> list[str]:
        rows = target.query("SELECT count(*) FROM orders_order o WHERE ...")
        return [f"{rows[0][0]} paid order(s) without a payment"] if rows[0][0] else []

A check returns a list of problems (empty when everything holds). It must only
read: the database is thrown away afterwards, but checks should not depend on
each other's side effects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RestoredDatabase:
    """A DB-API connection to the restored copy, and what the snapshot recorded."""

    connection: Any
    vendor: str  # "postgresql" or "sqlite"
    recorded_row_counts: dict[str, int | None] = field(default_factory=dict)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def table_exists(self, table: str) -> bool:
        if self.vendor == "postgresql":
            rows = self.query("SELECT to_regclass(%s) IS NOT NULL", [f"public.{table}"])
        else:
            rows = self.query(
                "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?", [table]
            )
        return bool(rows[0][0])


IntegrityCheck = Callable[[RestoredDatabase], list[str]]

_CHECKS: dict[str, IntegrityCheck] = {}


def register_integrity_check(name: str) -> Callable[[IntegrityCheck], IntegrityCheck]:
    """Register `check` under `name` (re-registering a name replaces it)."""

    def decorator(check: IntegrityCheck) -> IntegrityCheck:
        _CHECKS[name] = check
        return check

    return decorator


def integrity_checks() -> dict[str, IntegrityCheck]:
    return dict(_CHECKS)
