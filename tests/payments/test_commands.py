from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from payments import registry
from payments.models import StripeEvent, StripeEventReplay
from payments.tasks import stripe_reconcile
from rdk.jobs import TransientError
from tests.payments.conftest import control, make_event, post_webhook

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def inbox(client, effect):
    effect.failing = True
    failed = make_event()
    post_webhook(client, failed)
    effect.failing = False
    processed = make_event()
    post_webhook(client, processed)
    ignored = make_event("invoice.paid")
    post_webhook(client, ignored)
    return {"failed": failed["id"], "processed": processed["id"], "ignored": ignored["id"]}


def test_list_shows_events_and_filters_them(inbox):
    out = run("stripe_events", "list")
    assert all(event_id in out for event_id in inbox.values())
    assert "3 of 3 event(s) shown." in out
    out = run("stripe_events", "list", "--status", "failed")
    assert inbox["failed"] in out
    assert inbox["processed"] not in out
    out = run("stripe_events", "list", "--type", "invoice.paid", "--since", "1h")
    assert inbox["ignored"] in out
    assert "1 of 1" in out
    assert "0 of 0" in run("stripe_events", "list", "--since", "2999-01-01")


def test_show_prints_the_event_and_its_payload(inbox):
    out = run("stripe_events", "show", inbox["failed"])
    assert "status:      failed (attempts 1)" in out
    assert "last error:  RuntimeError: the shop's database said no" in out
    assert '"object": "event"' in out


def test_replay_by_id_and_failed(inbox, effect):
    out = run("stripe_events", "replay", inbox["failed"], "--actor", "ops:carol")
    assert "Replayed 1 event(s): 1 ok, 0 failed." in out
    assert StripeEventReplay.objects.get().actor == "ops:carol"
    assert effect.count(inbox["failed"]) == 1
    out = run("stripe_events", "replay", "--failed")
    assert "Replayed 0 event(s)" in out


def test_replay_exits_non_zero_when_a_replay_fails(inbox, effect):
    effect.failing = True
    with pytest.raises(CommandError, match="1 replay"):
        run("stripe_events", "replay", "--failed")
    assert StripeEvent.objects.get(stripe_id=inbox["failed"]).attempts == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("replay",), "EVENT_ID… or --failed"),
        (("replay", "evt_1", "--failed"), "EVENT_ID… or --failed"),
        (("replay", "evt_nope"), "No stored Stripe event: evt_nope"),
        (("show", "evt_nope"), "No stored Stripe event"),
        (("list", "--since", "yesterday"), "--since 'yesterday'"),
        (("list", "--limit", "0"), "--limit"),
        (("list", "--status", "exploded"), "invalid choice"),
    ],
)
def test_operator_mistakes_are_command_errors(args, message):
    with pytest.raises(CommandError, match=message):
        run("stripe_events", *args)


def _paid_session(standin, reference: str) -> str:
    from datetime import UTC, datetime, timedelta

    from payments import services

    session = services.checkout_session_create(
        reference=reference,
        line_items=[{"name": "Dunk Low", "unit_amount": 11000, "currency": "eur", "quantity": 1}],
        customer_email=None,
        expires_at=datetime.now(UTC) + timedelta(hours=1),
        success_url="http://127.0.0.1/ok",
        cancel_url="http://127.0.0.1/cart",
        attempt=1,
    )
    status, _ = control(standin, f"/_standin/sessions/{session.id}/complete", {"deliver": "hold"})
    assert status == 200
    return session.id


def test_reconcile_lists_paid_sessions_that_are_not_recorded(standin, capsys):
    _paid_session(standin, "ord_paid_not_recorded")
    _paid_session(standin, "ord_recorded")
    registry.register_paid_check(lambda reference: reference == "ord_recorded")
    try:
        with pytest.raises(CommandError, match="1 paid session"):
            call_command("stripe_reconcile", "--since", "1h")
        listed = capsys.readouterr().out
        registry.register_paid_check(lambda reference: True)
        everything = run("stripe_reconcile", "--since", "1h", "--all")
    finally:
        registry.unregister_paid_check()
    assert "ord_paid_not_recorded" in listed
    assert "NOT RECORDED" in listed
    assert "ord_recorded " not in listed
    assert "2 paid session(s) listed, 0 not recorded." in everything


def test_reconcile_without_a_paid_check_says_so(standin):
    registry.unregister_paid_check()  # orders' check; restored after the test
    _paid_session(standin, "ord_x")
    out = run("stripe_reconcile", "--since", "1h")
    assert "No paid check is registered" in out
    assert "ord_x" in out
    assert "unknown" in out


@pytest.mark.django_db
def test_an_unreachable_stripe_is_reported_to_the_operator_with_its_address(settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens on the discard port
    with pytest.raises(CommandError) as raised:
        call_command("stripe_reconcile")
    message = str(raised.value)
    assert "Stripe at http://127.0.0.1:9 did not answer" in message
    assert "try again in a moment" not in message


@pytest.mark.django_db
def test_the_hourly_reconcile_task_reports_and_applies_only_when_configured(standin, settings):
    _paid_session(standin, "ord_task_missing")
    recorded = []
    registry.register_paid_check(lambda reference: reference in recorded)
    registry.register_payment_recorder(
        lambda session: recorded.append(session.client_reference_id) or True
    )
    try:
        settings.STRIPE_RECONCILE_APPLY = False
        assert stripe_reconcile.call() == {"not_recorded": 1, "applied": 0, "apply_failed": 0}
        assert recorded == []
        settings.STRIPE_RECONCILE_APPLY = True
        assert stripe_reconcile.call() == {"not_recorded": 1, "applied": 1, "apply_failed": 0}
        assert recorded == ["ord_task_missing"]
    finally:
        registry.unregister_paid_check()
        registry.unregister_payment_recorder()


@pytest.mark.django_db
def test_the_reconcile_task_retries_when_stripe_is_unreachable(settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    with pytest.raises(TransientError, match="StripeUnavailable"):
        stripe_reconcile.call()
