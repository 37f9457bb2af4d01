"""Stored Stripe events for the ops console's tests, received through the real
inbox service (the `effect` fixture in conftest.py registers a handler that
can be made to fail)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from payments.models import StripeEvent
from payments.services import webhook_receive
from tests.payments.conftest import EFFECT_TYPE, make_event


def receive(
    event_type: str = EFFECT_TYPE, *, age: dt.timedelta | None = None, **obj
) -> StripeEvent:
    event = make_event(event_type, **obj)
    stored = webhook_receive(event=event, request_id=f"req-{event['id'][-8:]}").event
    if age is not None:
        StripeEvent.objects.filter(pk=stored.pk).update(received_at=timezone.now() - age)
        stored.refresh_from_db()
    return stored
