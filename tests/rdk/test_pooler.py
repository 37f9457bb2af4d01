"""What transaction pooling (pgbouncer, DATABASE_POOLER=pgbouncer-transaction)
demands of RDK. `make test` runs these, with the row-security suite and the
concurrency tests, a second time through a real pgbouncer in transaction mode
(marker `pooler`); on a direct connection they hold trivially.

Both put two Django connections on one pgbouncer pool: pgbouncer lends its
server connections last-in first-out, so the second client gets the server
connection the first has just given back."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from catalog.models import Brand
from rdk.rls import rls_current, rls_scope
from tests.catalog.factories import BrandFactory
from tests.orders.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.pooler, pytest.mark.django_db(transaction=True)]


def _in_other_connection(work, *, hold: threading.Event | None = None):
    """Run `work()` on a connection of its own (another thread) inside a
    transaction kept open until `hold` is set; returns once `work` has run."""
    done, result = threading.Event(), {}

    def run() -> None:
        try:
            with transaction.atomic():
                result["value"] = work()
                done.set()
                if hold is not None:
                    hold.wait(timeout=10)
        finally:
            done.set()
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    done.wait(timeout=10)
    return thread, result


def test_a_row_security_scope_ends_with_its_transaction_on_a_pooled_connection():
    shopper = UserFactory()
    with rls_scope(user=shopper):
        assert rls_current()[1] == str(shopper.pk)
    # The server connection that carried the scope goes back to the pool; the
    # next client's transaction on it must start with no scope.
    thread, seen = _in_other_connection(rls_current)
    thread.join(timeout=10)
    assert seen["value"] == ("", "")


def test_iterating_a_queryset_survives_its_server_connection_being_lent_out():
    BrandFactory.create_batch(3)
    rows = Brand.objects.order_by("pk").iterator(chunk_size=1)
    first = next(rows)
    # Another client takes the server connection the first fetch ran on and
    # keeps it in a transaction: a server-side cursor declared there (Django's
    # default for .iterator()) would be out of reach of the next fetch.
    hold = threading.Event()
    thread, _ = _in_other_connection(Brand.objects.count, hold=hold)
    try:
        rest = list(rows)
    finally:
        hold.set()
        thread.join(timeout=10)
        connection.close()
    assert [first.pk, *(brand.pk for brand in rest)] == list(
        Brand.objects.order_by("pk").values_list("pk", flat=True)
    )
