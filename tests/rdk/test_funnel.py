"""Funnel counters: buffered per process and written with one-statement
upserts; product views counted on every page served (also from the page
cache) without slowing a cached page down, and a step counted without a
statement of its own."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from rdk import funnel
from rdk.models import FunnelCount, FunnelStep
from tests.catalog.factories import ProductFactory
from tests.orders.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _flushed_by_the_tests(settings):
    settings.FUNNEL_FLUSH_SECONDS = 3600


def _count(step: str) -> int:
    return funnel.funnel_totals(since=timezone.now() - dt.timedelta(hours=1))[step]


def test_a_count_costs_no_statement_and_a_flush_one_that_adds(
    django_assert_num_queries, django_capture_on_commit_callbacks
):
    for n in (1, 4):
        with django_assert_num_queries(0), django_capture_on_commit_callbacks(execute=True):
            funnel.funnel_count(FunnelStep.CART_ADD, n)
    assert not FunnelCount.objects.exists()
    with django_assert_num_queries(1):
        assert funnel.funnel_flush() == 5
    row = FunnelCount.objects.get()
    assert (row.step, row.count) == ("cart_add", 5)
    assert row.hour == row.hour.replace(minute=0, second=0, microsecond=0)


def test_a_count_waits_for_commit_and_vanishes_with_a_rollback(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        funnel.funnel_count(FunnelStep.PAID)
        assert funnel.funnel_flush() == 0  # not before commit
    assert funnel.funnel_flush() == 1
    assert _count("paid") == 1
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                funnel.funnel_count(FunnelStep.PAID)
                raise RuntimeError("the service failed")
        except RuntimeError:
            pass
    assert funnel.funnel_flush() == 0
    assert _count("paid") == 1


def test_cached_product_pages_are_counted_without_a_query(client, django_assert_num_queries):
    product = ProductFactory(with_sizes=1)
    url = product.get_absolute_url()
    assert client.get(url)["X-RDK-Cache"] == "miss"
    with django_assert_num_queries(0):
        hit = client.get(url)
    assert hit["X-RDK-Cache"] == "hit"
    assert client.get(url, HTTP_IF_NONE_MATCH=hit["ETag"]).status_code == 304
    assert _count("product_view") == 0  # buffered, not yet written
    assert funnel.funnel_flush() == 3
    assert _count("product_view") == 3
    assert funnel.funnel_flush() == 0


def test_signed_in_views_count_and_missing_products_do_not(client):
    product = ProductFactory(with_sizes=1)
    client.force_login(UserFactory())
    assert client.get(product.get_absolute_url())["Cache-Control"] == "private, no-store"
    assert client.get("/products/no-such-shoe").status_code == 404
    funnel.funnel_flush()
    assert _count("product_view") == 1


def test_the_buffer_writes_itself_when_due(client, settings):
    settings.FUNNEL_FLUSH_SECONDS = 0
    product = ProductFactory(with_sizes=1)
    client.get(product.get_absolute_url())
    client.get(product.get_absolute_url())
    assert _count("product_view") == 2


def test_a_failed_write_keeps_the_views_for_the_next_flush(client):
    product = ProductFactory(with_sizes=1)
    client.get(product.get_absolute_url())
    client.get(product.get_absolute_url())

    def database_down(execute, sql, params, many, context):
        if "rdk_funnelcount" in sql:
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(database_down):
        assert funnel.funnel_flush() == 0  # logged, never raised to the shopper
    assert _count("product_view") == 0
    assert funnel.funnel_flush() == 2
    assert _count("product_view") == 2


@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_between_flushes_is_replaced_for_the_next():
    """A process answering only cached pages (rdk/front.py) sends no request
    signal that would replace a connection the server dropped."""
    funnel.product_viewed()
    assert funnel.funnel_flush() == 1  # the connection is open now
    connection.connection.close()  # the server went away meanwhile
    funnel.product_viewed()
    assert funnel.funnel_flush() == 0  # logged, kept for the next flush
    assert funnel.funnel_flush() == 1
    assert _count("product_view") == 2
