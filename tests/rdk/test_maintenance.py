"""Maintenance mode per area: 503 + Retry-After on the closed paths only."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.db import connection

from rdk.maintenance import closed_area
from rdk.switches import switch_set
from tests.conftest import BASE_DIR


@pytest.fixture
def switch(django_capture_on_commit_callbacks):
    def turn(name: str, on: bool = True) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            switch_set(name=name, on=on, actor="test", reason="test")

    return turn


@pytest.mark.django_db
def test_checkout_maintenance_answers_503_while_the_catalog_and_health_serve(client, switch):
    switch("maintenance.checkout")
    for path in ("/checkout", "/cart/add", "/cart/update", "/cart/remove"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert response["Retry-After"] == "300"
        assert b"down for maintenance" in response.content
    assert client.post("/checkout").status_code == 503
    assert client.get("/").status_code == 200
    assert client.get("/products").status_code != 503
    assert client.get("/cartoon").status_code != 503
    # The cart page stays readable and says checkout is paused.
    cart = client.get("/cart")
    assert cart.status_code == 200
    assert b"Checkout is paused for maintenance" in cart.content
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/admin/login/").status_code == 200
    switch("maintenance.checkout", on=False)
    assert client.get("/checkout").status_code != 503


@pytest.mark.django_db
def test_api_maintenance_answers_json(client, switch):
    switch("maintenance.api")
    response = client.get("/api/v1/products")
    assert response.status_code == 503
    assert response["Retry-After"] == "300"
    assert response.json()["error"] == "maintenance"
    assert client.post("/api/stripe/webhook").status_code != 503


@pytest.mark.django_db
def test_catalog_maintenance_closes_home_products_and_the_products_api(client, switch):
    switch("maintenance.catalog")
    assert client.get("/").status_code == 503
    assert client.get("/products/some-shoe").status_code == 503
    assert client.get("/api/v1/products").status_code == 503
    assert client.get("/static/rdk/rdk.css").status_code == 200
    assert client.get("/healthz").status_code == 200


def test_closed_area_is_pure_path_matching():
    everything = {
        "maintenance.catalog": True,
        "maintenance.checkout": True,
        "maintenance.account": True,
        "maintenance.api": True,
    }
    for path in (
        "/healthz",
        "/readyz",
        "/jobs/health",
        "/api/stripe/webhook",
        "/static/x.css",
        "/media/p.jpg",
        "/admin/",
        "/admin/ops/switches/",
    ):
        assert closed_area(path, everything) is None, path
    assert closed_area("/account/login/", everything) == "maintenance.account"
    assert closed_area("/api/v1/orders", everything) == "maintenance.api"
    assert closed_area("/checkout", {}) is None


SUBPROCESS = """
import sys, time, django
django.setup()
from rdk.switches import switch_is_on
print("ready", switch_is_on("maintenance.checkout"), flush=True)
sys.stdin.readline()  # the parent flipped the switch
deadline = time.monotonic() + float(sys.argv[1])
while time.monotonic() < deadline:
    if switch_is_on("maintenance.checkout"):
        print("seen", flush=True)
        break
    time.sleep(0.02)
else:
    print("not seen", flush=True)
"""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_switch_change_reaches_another_process_within_a_second():
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DJANGO_SETTINGS_MODULE": "rdk.settings",
        "RDK_LOG_LEVEL": "error",
    }
    # The other process polls for at most one second (plus a little scheduling slack).
    with subprocess.Popen(
        [sys.executable, "-c", SUBPROCESS, "1.2"],
        cwd=BASE_DIR,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as other:
        assert other.stdout.readline().strip() == "ready False"
        switch_set(name="maintenance.checkout", on=True, actor="test", reason="test")
        other.stdin.write("go\n")
        other.stdin.flush()
        assert other.stdout.readline().strip() == "seen"
        assert other.wait(timeout=30) == 0


def test_the_remembered_areas_follow_a_changed_admin_path(settings):
    from rdk.maintenance import areas_of

    assert areas_of("/account/staff/login") == ("maintenance.account",)
    settings.RDK_ADMIN_PATH = "account/staff/"
    assert areas_of("/account/staff/login") == ()  # the admin is never closed
