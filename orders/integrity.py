"""Invariants of order data, checked on a restored snapshot (`manage.py
snapshot restore-check`; see rdk/integrity.py). Registered in OrdersConfig.ready().

Each check reads the restored copy through its own DB-API connection, never
Django's: the copy is a different database."""

from __future__ import annotations

from orders.models import PAID_STATES
from orders.rowsecurity import rls_audit
from rdk.integrity import RestoredDatabase

_SHOWN = 10


def paid_orders_have_payment(target: RestoredDatabase) -> list[str]:
    """Every paid, shipped or refunded order has its payment recorded: a payment
    reference, and a captured amount unless the order cost nothing."""
    if not target.table_exists("orders_order"):
        return ["the orders_order table is missing"]
    mark = "?" if target.vendor == "sqlite" else "%s"
    marks = ", ".join([mark] * len(PAID_STATES))
    rows = target.query(
        "SELECT number, status FROM orders_order"  # noqa: S608 (placeholders only)
        f" WHERE status IN ({marks})"  # nosec B608
        " AND (payment_reference = '' OR (captured_amount = 0 AND total_amount > 0))"
        " ORDER BY id",
        sorted(str(state) for state in PAID_STATES),
    )
    if not rows:
        return []
    shown = ", ".join(f"{number} ({status})" for number, status in rows[:_SHOWN])
    more = f" and {len(rows) - _SHOWN} more" if len(rows) > _SHOWN else ""
    return [f"{len(rows)} paid order(s) without a recorded payment: {shown}{more}"]


def row_security_in_place(target: RestoredDatabase) -> list[str]:
    """Row-level security is enabled, forced and has its policies on every
    protected table: the same audit as `manage.py rls_audit`, run on the copy."""
    if target.vendor != "postgresql":
        return []  # SQLite has no row security; the selectors' filters are the rule there
    return [
        f"{table.table}: {problem}"
        for table in rls_audit(connection=target.connection)
        for problem in table.problems
    ]
