"""A poison webhook (an event that will never succeed) is closed by hand with a
reason, from the console or `stripe_events handle`: audited, and /jobs/health
stops answering 503 for it."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from opsadmin.models import AuditEntry
from payments.models import StripeEvent
from tests.opsadmin.test_jobs_health import snapshot
from tests.opsadmin.webhook_helpers import receive


@pytest.fixture
def poison(db, effect):
    snapshot()
    effect.failing = True
    return receive(age=dt.timedelta(minutes=30))


def test_marking_a_poison_event_handled_in_the_console(ops_client, poison):
    assert ops_client.get("/jobs/health").status_code == 503
    url = reverse("admin:ops_webhook_mark_handled", args=[poison.stripe_id])
    detail = reverse("admin:ops_webhook_detail", args=[poison.stripe_id])
    assert "Mark handled" in ops_client.get(detail).content.decode()

    refused = ops_client.post(url, {"reason": "  "}, follow=True)
    assert "a reason is required" in refused.content.decode()
    poison.refresh_from_db()
    assert poison.status == StripeEvent.Status.FAILED

    response = ops_client.post(url, {"reason": "test-mode event from a deleted account"})
    assert response.status_code == 302
    poison.refresh_from_db()
    assert poison.status == StripeEvent.Status.HANDLED
    assert poison.handled_reason == "test-mode event from a deleted account"
    assert poison.last_error  # kept on record
    entry = AuditEntry.objects.get(action="stripe.event_handled")
    assert (entry.target, entry.details["reason"]) == (
        poison.stripe_id,
        "test-mode event from a deleted account",
    )
    assert ops_client.get("/jobs/health").status_code == 200
    page = ops_client.get(detail).content.decode()
    assert "test-mode event from a deleted account" in page
    assert 'value="Mark handled"' not in page


def test_marking_handled_from_the_command_line(poison):
    out = io.StringIO()
    call_command(
        "stripe_events", "handle", poison.stripe_id, "--reason", "poison", "--actor", "ops",
        stdout=out,
    )  # fmt: skip
    assert f"{poison.stripe_id} marked handled by ops: poison" in out.getvalue()
    poison.refresh_from_db()
    assert (poison.status, poison.handled_by) == (StripeEvent.Status.HANDLED, "ops")
    with pytest.raises(CommandError, match="not failed"):
        call_command("stripe_events", "handle", poison.stripe_id, "--reason", "again")
    with pytest.raises(CommandError, match="No stored Stripe event"):
        call_command("stripe_events", "handle", "evt_nope", "--reason", "x")
    listed = io.StringIO()
    call_command("stripe_events", "list", "--status", "handled", stdout=listed)
    assert poison.stripe_id in listed.getvalue()
