"""Slow requests and queries logged and recorded with their request ids, and
pg_stat_statements read when available, explained when not (RUNBOOK §8)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from opsadmin.models import SlowRequest
from opsadmin.slowqueries import statement_report
from rdk.requestid import HEADER, RequestIdMiddleware
from rdk.slowlog import SlowRequestMiddleware
from tests.pgcluster import pg_cluster

pytestmark = pytest.mark.django_db


def _app(seconds: float, *, marker: str = "shopper@example.com"):
    """RDK's own request-id and slow-request middleware around a view that runs
    one real query of `seconds` on PostgreSQL."""

    def view(request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(%s), %s", [seconds, marker])
        return HttpResponse("ok")

    return RequestIdMiddleware(SlowRequestMiddleware(view))


@pytest.mark.postgres
def test_a_slow_query_is_logged_and_recorded_with_the_request_id(settings, json_logs):
    settings.RDK_SLOW_QUERY_MS = 50
    settings.RDK_SLOW_REQUEST_MS = 10_000
    request = RequestFactory().get("/products/air", HTTP_X_REQUEST_ID="req-slow-1")
    response = _app(0.06)(request)
    assert response[HEADER] == "req-slow-1"
    slow = [line for line in json_logs() if line["event"] == "query.slow"]
    assert len(slow) == 1
    assert slow[0]["request_id"] == "req-slow-1"
    assert slow[0]["duration_ms"] >= 50
    assert "pg_sleep" in slow[0]["sql"]
    assert "shopper@example.com" not in str(slow)  # parameters are never logged
    assert not [line for line in json_logs() if line["event"] == "request.slow"]
    record = SlowRequest.objects.get()
    assert (record.request_id, record.path, record.slow_queries) == (
        "req-slow-1",
        "/products/air",
        1,
    )
    assert "pg_sleep" in record.slowest_query


@pytest.mark.postgres
def test_a_slow_request_is_logged_and_recorded(settings, json_logs):
    settings.RDK_SLOW_QUERY_MS = 0  # off
    settings.RDK_SLOW_REQUEST_MS = 50
    _app(0.06)(RequestFactory().get("/cart", HTTP_X_REQUEST_ID="req-slow-2"))
    lines = [line for line in json_logs() if line["event"] == "request.slow"]
    assert [(line["request_id"], line["path"]) for line in lines] == [("req-slow-2", "/cart")]
    assert SlowRequest.objects.get().slow_queries == 0


@pytest.mark.postgres
def test_fast_requests_leave_nothing(settings, json_logs):
    settings.RDK_SLOW_QUERY_MS = 500
    settings.RDK_SLOW_REQUEST_MS = 500
    _app(0)(RequestFactory().get("/"))
    assert not SlowRequest.objects.exists()
    assert not [line for line in json_logs() if line["event"].endswith(".slow")]


def test_without_the_extension_page_and_command_say_how_to_enable_it(ops_client, capsys):
    SlowRequest.objects.create(
        at="2026-11-29T10:00:00Z",
        request_id="req-page-1",
        method="GET",
        path="/products",
        status=200,
        duration_ms=1800,
    )
    response = ops_client.get(reverse("admin:ops_slow_queries"))
    page = response.content.decode()
    assert response.context["report"].available is False
    assert "shared_preload_libraries" in page
    assert "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" in page
    assert "req-page-1" in page
    call_command("slow_queries")
    out = capsys.readouterr().out
    assert "pg_stat_statements is not available" in out
    assert "req-page-1 GET /products 200 1800 ms" in out


def test_unverified_staff_cannot_open_the_page(client, staff):
    client.force_login(staff.user)
    assert client.get(reverse("admin:ops_slow_queries")).status_code == 302


# A real PostgreSQL with pg_stat_statements preloaded ---------------------------------


@pytest.fixture
def preloaded_postgres():
    """The shared test server does not preload the extension and must not be restarted."""
    with (
        pg_cluster("shared_preload_libraries=pg_stat_statements") as cluster,
        cluster.admin() as conn,
    ):
        yield conn


@pytest.mark.postgres
@pytest.mark.slow
def test_statements_are_read_from_pg_stat_statements(preloaded_postgres):
    conn = preloaded_postgres
    assert "not created" in statement_report(connection=conn).problem
    conn.execute("CREATE EXTENSION pg_stat_statements")
    conn.execute("CREATE TABLE shoes (id int)")
    for n in range(7):
        conn.execute("INSERT INTO shoes VALUES (%s)", [n])
    conn.execute("SELECT pg_sleep(0.05)")
    report = statement_report(connection=conn, limit=5)
    assert report.available, report.problem
    assert "pg_sleep" in report.slowest[0].query
    assert report.slowest[0].mean_ms >= 50
    frequent = {s.query: s.calls for s in report.most_frequent}
    assert frequent["INSERT INTO shoes VALUES ($1)"] == 7
