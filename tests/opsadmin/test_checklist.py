"""The ops home: the runbook's daily checklist with /readyz and /jobs/health."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from rdk.tasks import clearsessions
from tests.jobs import drain_tasks, schedule_on_time
from tests.opsadmin.test_jobs_health import snapshot
from tests.opsadmin.webhook_helpers import receive
from tests.rdk.jobs_tasks import broken

pytestmark = pytest.mark.django_db

HOME = reverse("admin:ops_home")


def cards(page: str) -> dict[str, str]:
    """Card title -> its state class, from the rendered home page."""
    pattern = r'<section class="ops-card ops-(\w+)"[^>]*>\s*<h3 id="check-\d+">([^<]+?) <span'
    return {title: state for state, title in re.findall(pattern, page)}


def test_all_well(ops_client, effect, django_assert_max_num_queries):
    snapshot()
    schedule_on_time()
    receive()
    with django_assert_max_num_queries(36):
        page = ops_client.get(HOME).content.decode()
    assert cards(page) == {
        "Readiness (/readyz)": "ok",
        "Degradations": "ok",
        "Jobs health (/jobs/health)": "ok",
        "Stripe webhooks": "ok",
        "Background tasks": "ok",
        "Stock reservations": "ok",
        "Incidents": "ok",
        "Switches": "ok",
        "Snapshots": "ok",
    }
    assert "1 processed, 0 failed, 0 waiting, 0 ignored." in page
    assert 'href="/jobs/health"' in page
    assert 'href="/readyz"' in page
    assert "The rest of the runbook" in page


def test_a_stale_failed_event_turns_webhooks_and_jobs_red(ops_client, effect):
    snapshot()
    effect.failing = True
    receive(age=dt.timedelta(minutes=20))
    page = ops_client.get(HOME).content.decode()
    state = cards(page)
    assert state["Stripe webhooks"] == "bad"
    assert state["Jobs health (/jobs/health)"] == "bad"
    assert "0 processed, 1 failed, 0 waiting, 0 ignored. Oldest unprocessed: 20" in page
    assert reverse("admin:ops_webhooks") + "?status=failed" in page
    assert "replay them (RUNBOOK §6)" in page


def test_a_fresh_failed_event_is_amber(ops_client, effect):
    snapshot()
    schedule_on_time()
    effect.failing = True
    receive()
    state = cards(ops_client.get(HOME).content.decode())
    assert (state["Stripe webhooks"], state["Jobs health (/jobs/health)"]) == ("warn", "ok")


def test_a_failed_task_turns_background_tasks_red(ops_client):
    snapshot()
    schedule_on_time()
    broken.enqueue()
    clearsessions.enqueue()
    drain_tasks(limit=1)
    page = ops_client.get(HOME).content.decode()
    assert cards(page)["Background tasks"] == "bad"
    assert "1 waiting, 0 running, 1 failed." in page
    assert reverse("admin:ops_jobs") + "?status=failed" in page


def test_the_ops_home_names_the_live_release_and_the_runbooks_load_test(ops_client, settings):
    settings.RDK_RELEASE = "v2026.11.29-abc123"
    page = ops_client.get(HOME).content.decode()
    assert "Live release: <code>v2026.11.29-abc123</code>" in page
    assert "make bench" not in page  # the runbook map says make loadtest
    assert "<code>make loadtest</code>" in page
