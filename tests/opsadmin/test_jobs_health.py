"""GET /jobs/health: 200 within the thresholds, 503 with the reason beyond each."""

from __future__ import annotations

import datetime as dt

import pytest
from django.tasks.base import TaskResultStatus
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from opsadmin.models import Snapshot, SnapshotCheck
from orders.models import Reservation
from rdk.rls import rls_service_scope
from rdk.switches import switch_set
from rdk.tasks import clearsessions
from tests.catalog.factories import ProductFactory
from tests.jobs import drain_tasks, schedule_on_time, worker_env
from tests.opsadmin.webhook_helpers import receive
from tests.orders.factories import order_for
from tests.staff import make_user

pytestmark = pytest.mark.django_db

URL = "/jobs/health"


def snapshot(*, age=dt.timedelta(hours=2), verify=True, restore=True, restore_age=None) -> None:
    now = timezone.now()
    taken = Snapshot.objects.create(
        created_at=now - age,
        file_name="rdk-test.dump",
        engine="postgresql",
        size_bytes=1024,
        sha256="0" * 64,
        created_by="test",
    )
    for kind, ok, check_age in (
        (SnapshotCheck.Kind.VERIFY, verify, age),
        (SnapshotCheck.Kind.RESTORE_CHECK, restore, restore_age or age),
    ):
        if ok is None:
            continue
        SnapshotCheck.objects.create(
            snapshot=taken,
            kind=kind,
            ok=ok,
            started_at=now - check_age,
            problems=[] if ok else ["orders.row_security: orders_order: row security not forced"],
            actor="test",
        )


@pytest.fixture
def healthy():
    snapshot()
    schedule_on_time()


def get(client):
    response = client.get(URL)
    return response, response.json()


def test_url_name():
    assert reverse("opsadmin:jobs_health") == URL


def test_healthy_answers_200_with_every_figure(client, healthy, effect):
    receive()
    effect.failing = True
    receive(age=dt.timedelta(minutes=3))  # failed, but Stripe's own retries get 15 min
    response, body = get(client)
    assert response.status_code == 200, body["problems"]
    assert body["status"] == "ok"
    assert body["problems"] == []
    assert body["webhooks"]["counts"] == {
        "received": 0,
        "processed": 1,
        "failed": 1,
        "ignored": 0,
        "handled": 0,
    }
    assert 180 <= body["webhooks"]["oldest_failed_age_seconds"] < 600
    assert body["webhooks"]["oldest_received_age_seconds"] is None
    assert body["snapshots"]["latest"] == "rdk-test.dump"
    assert body["snapshots"]["verify"]["ok"] is True
    assert body["snapshots"]["restore_check"]["ok"] is True
    assert body["reservations"] == {
        "ok": True,
        "awaiting_release": 0,
        "oldest_overdue_seconds": None,
    }
    assert body["thresholds"] == {
        "failed_event_minutes": 15,
        "received_event_minutes": 5,
        "snapshot_max_age_hours": 26,
        "restore_check_max_age_days": 8,
        "reservation_overdue_minutes": 10,
        "queue_depth_max": 500,
        "queue_age_minutes": 5,
        "running_max_minutes": 120,
        "failed_tasks_max": 0,
        "schedule_slack": 2.0,
    }
    assert body["tasks"] == {
        "ok": True,
        "due": 0,
        "queued": 0,
        "oldest_due_age_seconds": None,
        "running": 0,
        "oldest_running_age_seconds": None,
        "failed": 0,
    }
    assert [row["task"] for row in body["schedule"] if row["ok"]] == [
        "release_expired_reservations",
        "stripe_reconcile",
        "clearsessions",
        "prune_task_results",
        "snapshot_create_and_verify",
        "snapshot_restore_check",
    ]
    assert "no-store" in response["Cache-Control"]


def test_a_failed_event_older_than_15_minutes_is_a_503(client, healthy, effect):
    effect.failing = True
    receive(age=dt.timedelta(minutes=16))
    response, body = get(client)
    assert response.status_code == 503
    assert body["status"] == "failing"
    assert body["webhooks"]["ok"] is False
    assert body["problems"] == [
        "1 failed Stripe event(s), the oldest received 16 min ago: replay them (RUNBOOK §6)."
    ]


def test_an_event_received_but_never_finished_for_5_minutes_is_a_503(client, healthy, effect):
    stored = receive(age=dt.timedelta(minutes=6))
    type(stored).objects.filter(pk=stored.pk).update(status="received")
    response, body = get(client)
    assert response.status_code == 503
    assert "never finished, the oldest 6 min ago" in body["problems"][0]


@pytest.mark.parametrize(
    ("setup", "problem"),
    [
        ({"verify": None, "restore": None, "none": True}, "No database snapshot has been taken"),
        ({"age": dt.timedelta(hours=27)}, "older than 26 h"),
        ({"verify": False}, "The last snapshot verify failed"),
        ({"restore": False}, "The last restore check failed: orders.row_security"),
        ({"restore": None}, "No restore check has run"),
        ({"restore_age": dt.timedelta(days=9)}, "more than 8 days"),
    ],
)
def test_each_snapshot_cause_is_a_503(client, setup, problem):
    if not setup.pop("none", False):
        snapshot(**setup)
    response, body = get(client)
    assert response.status_code == 503
    assert body["snapshots"]["ok"] is False
    assert any(problem in p for p in body["problems"]), body["problems"]


def test_thresholds_are_settings(client, settings, effect):
    snapshot(age=dt.timedelta(hours=30))
    schedule_on_time()
    settings.SNAPSHOT_MAX_AGE_HOURS = 48
    settings.JOBS_HEALTH_FAILED_EVENT_MINUTES = 60
    effect.failing = True
    receive(age=dt.timedelta(minutes=30))
    response, body = get(client)
    assert response.status_code == 200, body["problems"]


@pytest.mark.postgres
def test_expired_reservations_still_active_for_10_minutes_are_a_503(client, healthy):
    variant = ProductFactory(with_sizes=1).variants.first()
    # Not UserFactory: it caches one password hash per run, and this folder's
    # conftest swaps in a fast hasher the shop's own tests do not accept.
    order_for(make_user("shopper", staff=False), variant)
    with rls_service_scope():
        Reservation.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=4))
    response, body = get(client)
    assert response.status_code == 200  # awaiting release, within the threshold
    assert body["reservations"]["awaiting_release"] == 1
    with rls_service_scope():
        Reservation.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=11))
    response, body = get(client)
    assert response.status_code == 503
    assert body["reservations"]["ok"] is False
    assert (
        "1 expired reservation(s) still hold stock, the oldest expired 11 min ago"
        in (body["problems"][0])
    )


def test_no_login_no_maintenance_no_rate_limit_no_post(client, healthy, settings):
    switch_set(name="maintenance.catalog", on=True, actor="test", reason="test")
    for _ in range(40):
        assert client.get(URL).status_code == 200
    assert client.post(URL).status_code == 405


def test_a_bounded_number_of_queries(client, healthy, effect, django_assert_max_num_queries):
    effect.failing = True
    for _ in range(10):
        receive()
    with django_assert_max_num_queries(11):
        assert client.get(URL).status_code == 200


def age_queue(minutes: int) -> None:
    DBTaskResult.objects.filter(status=TaskResultStatus.READY).update(
        enqueued_at=timezone.now() - dt.timedelta(minutes=minutes)
    )


def test_a_task_waiting_past_the_queue_age_is_a_503_until_a_worker_runs_it(client, healthy):
    clearsessions.enqueue()
    age_queue(4)
    response, body = get(client)
    assert response.status_code == 200, body["problems"]
    assert body["tasks"]["due"] == 1
    age_queue(6)  # the worker has been stopped for 6 minutes
    response, body = get(client)
    assert response.status_code == 503
    assert body["tasks"]["ok"] is False
    assert 360 <= body["tasks"]["oldest_due_age_seconds"] < 400
    assert body["problems"] == [
        "The oldest waiting task has waited 6 min: is `manage.py db_worker` running?"
    ]
    drain_tasks()
    response, body = get(client)
    assert response.status_code == 200, body["problems"]
    assert body["tasks"]["due"] == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_queue_ages_past_its_threshold_and_a_real_worker_catches_up(client, healthy, manage):
    for _ in range(3):
        clearsessions.enqueue()
    age_queue(10)
    response, body = get(client)
    assert response.status_code == 503
    assert body["tasks"]["due"] == 3

    done = manage("db_worker", "--batch", "--no-startup-delay", env=worker_env(), timeout=120)

    assert done.returncode == 0, done.stderr
    response, body = get(client)
    assert response.status_code == 200, body["problems"]
    assert body["tasks"]["due"] == 0


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"status": TaskResultStatus.FAILED}, "1 task(s) failed"),
        (
            {"status": TaskResultStatus.RUNNING, "started_at_minutes": 121},
            "A task has been running for 2.0 h",
        ),
    ],
)
def test_failed_and_stuck_tasks_are_a_503(client, healthy, change, problem):
    result = clearsessions.enqueue()
    minutes = change.pop("started_at_minutes", None)
    if minutes:
        change["started_at"] = timezone.now() - dt.timedelta(minutes=minutes)
    DBTaskResult.objects.filter(id=result.id).update(**change)
    response, body = get(client)
    assert response.status_code == 503
    assert any(problem in p for p in body["problems"]), body["problems"]


def test_a_scheduled_task_that_stopped_succeeding_is_a_503(client, healthy, settings):
    DBTaskResult.objects.filter(task_path="orders.tasks.release_expired_reservations").update(
        finished_at=timezone.now() - dt.timedelta(minutes=3)
    )
    response, body = get(client)
    assert response.status_code == 503
    assert body["problems"] == [
        "Scheduled task release_expired_reservations last succeeded 3 min ago, longer than 2 min."
    ]
    settings.JOBS_HEALTH_SCHEDULE_SLACK = 5
    assert get(client)[0].status_code == 200
