from __future__ import annotations

import logging

import pytest
from django.http import HttpResponse
from django.test import override_settings
from django.urls import include, path

from rdk.requestid import accept_request_id, get_request_id

logger = logging.getLogger("tests.view")


def logging_view(request):
    logger.info("inside.view", extra={"widget": 7})
    return HttpResponse(get_request_id())


urlpatterns = [path("log-something", logging_view), path("", include("rdk.urls"))]


@pytest.mark.parametrize("good", ["abc-123", "A.b_c-9", "x" * 128])
def test_well_formed_ids_are_kept(good):
    assert accept_request_id(good) == good


@pytest.mark.parametrize("bad", ["", "x" * 129, "has space", "semi;colon", "é", "a\nb"])
def test_malformed_ids_are_replaced(bad):
    replaced = accept_request_id(bad)
    assert replaced != bad
    assert len(replaced) == 32


@override_settings(ROOT_URLCONF="tests.rdk.test_requestid")
def test_inbound_id_is_returned_and_on_every_line(client, json_logs):
    response = client.get("/log-something", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"
    assert response.content == b"abc-123"
    lines = json_logs()
    assert {line["event"] for line in lines} >= {"inside.view", "request"}
    assert all(line["request_id"] == "abc-123" for line in lines)
    view_line = next(line for line in lines if line["event"] == "inside.view")
    assert view_line["widget"] == 7
    assert view_line["logger"] == "tests.view"
    assert {"ts", "level", "logger", "event", "request_id"} <= set(view_line)


@override_settings(ROOT_URLCONF="tests.rdk.test_requestid")
def test_malformed_inbound_id_gets_a_fresh_one(client, json_logs):
    response = client.get("/log-something", HTTP_X_REQUEST_ID="bad id; drop table")
    assert response["X-Request-ID"] != "bad id; drop table"
    assert all(line["request_id"] == response["X-Request-ID"] for line in json_logs())


@pytest.mark.django_db
def test_exactly_one_access_line_per_request(client, json_logs, django_user_model):
    client.get("/healthz")
    user = django_user_model.objects.create_user("ava", "ava@example.com", "pw-Long-enough-1")
    client.force_login(user)
    client.get("/does-not-exist")
    access = [line for line in json_logs() if line["logger"] == "rdk.access"]
    assert len(access) == 2
    first, second = access
    assert (first["method"], first["path"], first["status"], first["user_id"]) == (
        "GET",
        "/healthz",
        200,
        None,
    )
    assert isinstance(first["duration_ms"], float)
    assert (second["path"], second["status"], second["user_id"]) == (
        "/does-not-exist",
        404,
        user.pk,
    )


def test_management_commands_run_under_their_own_request_id(manage):
    result = manage(
        "shell", "-c", "from rdk.requestid import get_request_id; print(get_request_id())"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("cmd-")


def test_console_format(manage):
    result = manage(
        "shell",
        "-c",
        "import logging; logging.getLogger('demo').warning('hello.world', extra={'n': 3})",
        env={"RDK_LOG_FORMAT": "console"},
    )
    assert result.returncode == 0, result.stderr
    assert "WARNING demo [cmd-" in result.stderr
    assert "hello.world  n=3" in result.stderr


def test_the_console_format_prints_the_whole_request_id():
    """Grepping the console log for a full id (from X-Request-ID) finds the line."""
    from rdk.logs import ConsoleFormatter

    record = logging.makeLogRecord({"msg": "order.paid", "levelname": "INFO", "name": "orders"})
    record.request_id = "0123456789abcdef0123456789abcdef"
    assert "[0123456789abcdef0123456789abcdef]" in ConsoleFormatter().format(record)
