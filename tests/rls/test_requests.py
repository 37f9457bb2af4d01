"""The scope comes from the request's signed-in shopper and ends with the request."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import Order, Profile
from rdk.rls import rls_current, rls_service_scope
from tests.catalog.factories import VariantFactory
from tests.orders.factories import UserFactory, order_for

pytestmark = [pytest.mark.rls]


@pytest.mark.django_db(transaction=True)
def test_scope_does_not_survive_into_the_next_request_on_the_same_connection(client):
    a, b = UserFactory(), UserFactory()
    order_a = order_for(a, VariantFactory())
    order_for(b, VariantFactory())
    client.force_login(a)
    response = client.get("/account/orders")
    assert response.status_code == 200
    assert order_a.number in response.text
    backend_pid = connection.connection.info.backend_pid

    # Same connection (CONN_MAX_AGE keeps it), next transaction: no scope.
    assert connection.connection.info.backend_pid == backend_pid
    assert rls_current() == ("", "")
    assert Order.objects.count() == 0

    client.logout()
    response = client.get("/account/orders")
    assert response.status_code == 302  # to the login page
    with rls_service_scope():
        assert Order.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_request_without_session_runs_without_scope_or_transaction(
    client, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200


@pytest.mark.django_db
def test_staff_in_the_admin_work_under_the_service_scope(admin_client):
    a = UserFactory()
    order_a = order_for(a, VariantFactory())
    response = admin_client.get("/admin/orders/order/")
    assert response.status_code == 200
    assert order_a.number in response.text


@pytest.mark.django_db
def test_a_shopper_never_gets_the_service_scope_in_the_admin(client):
    a, b = UserFactory(), UserFactory()
    order_for(b, VariantFactory())
    client.force_login(a)
    response = client.get("/admin/orders/order/")
    assert response.status_code == 302  # the admin sends non-staff to its login


@pytest.mark.django_db(transaction=True)
def test_a_failed_request_rolls_back_and_leaves_no_scope(client, settings):
    settings.ROOT_URLCONF = "tests.rls.urls"
    user = UserFactory()
    client.force_login(user)
    client.raise_request_exception = False
    response = client.post("/write-then-fail")
    assert response.status_code == 500
    assert rls_current() == ("", "")
    with rls_service_scope():
        assert not Profile.objects.filter(full_name="written before the crash").exists()


@pytest.mark.django_db(transaction=True)
def test_a_request_sets_its_scope_in_one_statement_and_leaves_none(client):
    user = UserFactory()
    order = order_for(user, VariantFactory())
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/account/orders")
    assert response.status_code == 200
    assert order.number in response.text
    # The request's transaction ends the scope: no second statement restores it.
    scoping = [query for query in queries.captured_queries if "set_config" in query["sql"]]
    assert len(scoping) == 1
    assert rls_current() == ("", "")


@pytest.mark.django_db(transaction=True)
def test_the_middleware_resolves_a_path_once_per_process(client, monkeypatch):
    """Whether a view is exempt is remembered per path: the handler resolves
    the URL anyway, and resolving it again cost every signed-in request."""
    from rdk import rls

    rls._exempt_path.cache_clear()
    resolved = []
    original = rls.resolve
    monkeypatch.setattr(rls, "resolve", lambda *a: resolved.append(a[0]) or original(*a))
    client.force_login(UserFactory())
    for _ in range(3):
        assert client.get("/account/orders").status_code == 200
    assert resolved == ["/account/orders"]
