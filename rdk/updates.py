"""Updating rows and reading back what was updated, in one statement.

A write that must happen once per row (a reservation sold or released)
locked the rows with `SELECT … FOR UPDATE`, then updated them: two round
trips, and a model instance per row only to learn a few columns. `UPDATE …
WHERE … RETURNING …` says the same in one: PostgreSQL locks each row it
updates, a concurrent updater of the same rows waits and then re-checks the
WHERE clause on the committed row, so a condition such as `status = 'active'`
is true for exactly one of them.

Django's ORM has no public spelling of it (`update()` returns a count);
`update_returning` asks the same update compiler `QuerySet.update()` uses for
the statement with RETURNING, as `rdk.inserts` does for inserts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections
from django.db.models import QuerySet, sql


def update_returning(
    queryset: QuerySet[Any], *, returning: Sequence[str], **values: Any
) -> list[tuple[Any, ...]]:
    """UPDATE the rows of `queryset` with `values` (as `QuerySet.update`
    takes them) and return, for each row updated, the `returning` fields'
    values (a foreign key gives its id). No signals are sent."""
    if not connections[queryset.db].features.can_return_rows_from_update:
        raise NotImplementedError(f"{connections[queryset.db].vendor} cannot UPDATE … RETURNING.")
    meta = queryset.model._meta
    query = queryset.query.chain(sql.UpdateQuery)
    query.add_update_values(values)  # type: ignore[attr-defined]  # private, see above
    query.annotations = {}
    compiler = query.get_compiler(queryset.db)
    rows: list[tuple[Any, ...]] = compiler.execute_returning_sql(
        [meta.get_field(name) for name in returning]
    )
    return rows
