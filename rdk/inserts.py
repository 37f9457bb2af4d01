"""Inserting a row at most once, keyed by its unique columns, in one statement.

The webhook inbox (a Stripe event id) and the email outbox (a cause's key)
both store something once, however often, and how concurrently, it
arrives. Catching the IntegrityError of a plain INSERT costs a savepoint
around it (two more round trips) inside a transaction, leaves a dead row
behind, and outside one commits the row before the work it guards has
happened. `INSERT … ON CONFLICT DO NOTHING RETURNING id` says the same in one
round trip and never raises: inside a transaction, a concurrent inserter of
the same key is waited for (PostgreSQL blocks on its uncommitted index
entry), so exactly one caller gets True and the others see the row only once
that caller has committed (or get True themselves if it rolled back).

Django's ORM has no public spelling of it: `bulk_create(ignore_conflicts=True)`
does not say whether it inserted. `insert_once` asks the same insert compiler
that `Model.save()` uses for the statement with RETURNING.
"""

from __future__ import annotations

from django.db import router
from django.db.models import Model
from django.db.models.constants import OnConflict


def insert_once(obj: Model) -> bool:
    """INSERT `obj` unless a row with one of its unique values exists. True
    when this call inserted it (its primary key is then set and it counts as
    saved), False when the row was there already (`obj` is left unsaved).
    No signals are sent; no exception is raised for the conflict."""
    model = type(obj)
    meta = model._meta
    using = router.db_for_write(model, instance=obj)
    pk_given = getattr(obj, meta.pk.attname) is not None
    fields = [
        f for f in meta.local_concrete_fields if not f.generated and (pk_given or f is not meta.pk)
    ]
    rows = model._base_manager.using(using)._insert(  # type: ignore[attr-defined]  # private, see above
        [obj],
        fields=fields,
        returning_fields=[meta.pk],
        using=using,
        on_conflict=OnConflict.IGNORE,
    )
    if not rows:
        return False
    setattr(obj, meta.pk.attname, rows[0][0])
    obj._state.adding = False
    obj._state.db = using
    return True
