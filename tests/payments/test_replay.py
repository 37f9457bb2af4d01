"""Replays run the same dispatch on the stored payload, are recorded and audited,
and never repeat an effect that already happened."""

from __future__ import annotations

import pytest

from payments import registry, services
from payments.models import StripeEvent, StripeEventReplay
from rdk.audit import ops_action
from tests.payments.conftest import make_event, post_webhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def audits():
    entries: list[dict] = []

    def receive(sender, **kwargs) -> None:
        entries.append(kwargs)

    ops_action.connect(receive, dispatch_uid="test-payments-audits")
    yield entries
    ops_action.disconnect(dispatch_uid="test-payments-audits")


def test_replaying_a_failed_event_after_the_fix_completes_it(client, effect, audits):
    effect.failing = True
    event = make_event()
    post_webhook(client, event)
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert stored.status == StripeEvent.Status.FAILED

    effect.failing = False
    replay = services.event_replay(event=stored, actor="ops:alice")

    assert replay.outcome == StripeEventReplay.Outcome.PROCESSED
    assert replay.actor == "ops:alice"
    assert stored.status == StripeEvent.Status.PROCESSED
    assert stored.attempts == 2
    assert effect.count(event["id"]) == 1
    assert [(a["action"], a["actor"], a["target"], a["outcome"]) for a in audits] == [
        ("stripe.event_replay", "ops:alice", event["id"], "ok")
    ]


def test_a_replay_that_fails_again_is_recorded_as_failed(client, effect, audits):
    effect.failing = True
    event = make_event()
    post_webhook(client, event)
    replay = services.event_replay_by_id(stripe_id=event["id"], actor="ops:bob")
    assert replay.outcome == StripeEventReplay.Outcome.FAILED
    assert "said no" in replay.error
    assert StripeEvent.objects.get(stripe_id=event["id"]).attempts == 2
    assert effect.count(event["id"]) == 0
    assert audits[-1]["outcome"] == "failed"


def test_replaying_a_processed_event_changes_nothing(client, effect):
    event = make_event()
    post_webhook(client, event)
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    before = (stored.status, stored.attempts, stored.processed_at)

    replay = services.event_replay(event=stored, actor="ops:alice")

    assert replay.outcome == StripeEventReplay.Outcome.ALREADY_PROCESSED
    stored.refresh_from_db()
    assert (stored.status, stored.attempts, stored.processed_at) == before
    assert effect.count(event["id"]) == 1
    assert len(effect.calls) == 1
    assert stored.replays.count() == 1


def test_an_ignored_event_is_dispatched_once_a_handler_exists(client):
    event = make_event("invoice.paid")
    post_webhook(client, event)
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert stored.status == StripeEvent.Status.IGNORED
    seen = []
    registry.register("invoice.paid", lambda e: seen.append(e.stripe_id))
    try:
        replay = services.event_replay(event=stored, actor="ops:alice")
    finally:
        registry.unregister("invoice.paid")
    assert replay.outcome == StripeEventReplay.Outcome.PROCESSED
    assert seen == [event["id"]]


def test_replay_failed_replays_every_failed_event_oldest_first(client, effect):
    effect.failing = True
    events = [make_event(), make_event()]
    for event in events:
        post_webhook(client, event)
    post_webhook(client, make_event("invoice.paid"))  # ignored: not replayed
    effect.failing = False
    replays = services.events_replay_failed(actor="ops:alice")
    assert [r.event.stripe_id for r in replays] == [e["id"] for e in events]
    assert {r.outcome for r in replays} == {"processed"}
    assert not StripeEvent.objects.filter(status="failed").exists()


def test_a_handler_registered_twice_for_one_type_is_refused():
    from django.core.exceptions import ImproperlyConfigured

    registry.register("x.y", print)
    try:
        registry.register("x.y", print)  # the same handler again is harmless
        with pytest.raises(ImproperlyConfigured):
            registry.register("x.y", repr)  # type: ignore[arg-type]  # any other callable
    finally:
        registry.unregister("x.y")
