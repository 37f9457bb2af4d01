"""Where other apps plug into the Stripe boundary without `payments` importing them.

- `register(event_type)`: the handler for one Stripe event type. It receives a
  `payments.events.WebhookEvent` (the stored event's id, type, and its object
  as a typed value, never Stripe's dict) and runs inside the inbox's
  transaction: if it raises, its writes are rolled back (with the event's
  row, for a first delivery; in a savepoint, for a failed event delivered or
  replayed again) and the event is marked failed and retried.
  Handlers must be idempotent: a replay runs them again on the same payload.
- `register_paid_check(func)`: answers "is the payment of the order with this
  reference (a Checkout Session's `client_reference_id`) recorded?" for
  `stripe_reconcile`.
- `register_payment_recorder(func)`: records the payment of a paid Checkout
  Session (a `CheckoutSessionResult`, as Stripe reports it now) for
  `stripe_reconcile --apply`; the same function the webhook handler and the
  success page use. Returns True when the reference is paid afterwards.

`orders` registers all three in its `AppConfig.ready()` (`orders.handlers`).
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured

from payments.events import CheckoutSessionResult, WebhookEvent

Handler = Callable[[WebhookEvent], None]
PaidCheck = Callable[[str], bool]
PaymentRecorder = Callable[[CheckoutSessionResult], bool]

_handlers: dict[str, Handler] = {}
_paid_check: list[PaidCheck] = []
_payment_recorder: list[PaymentRecorder] = []


def register(event_type: str, handler: Handler | None = None):
    """Register `handler` for `event_type`; usable as `@register("type")`.

    One handler per type: registering a different one for a taken type is a
    programming error and raises ImproperlyConfigured."""

    def decorate(func: Handler) -> Handler:
        existing = _handlers.get(event_type)
        if existing is not None and existing is not func:
            raise ImproperlyConfigured(
                f"A handler for {event_type!r} is already registered ({existing.__qualname__})."
            )
        _handlers[event_type] = func
        return func

    if handler is not None:
        return decorate(handler)
    return decorate


def unregister(event_type: str) -> None:
    _handlers.pop(event_type, None)


def handler_for(event_type: str) -> Handler | None:
    return _handlers.get(event_type)


def registered_types() -> list[str]:
    return sorted(_handlers)


def register_paid_check(func: PaidCheck) -> PaidCheck:
    _paid_check[:] = [func]
    return func


def unregister_paid_check() -> None:
    _paid_check.clear()


def paid_check_registered() -> bool:
    return bool(_paid_check)


def reference_is_paid(reference: str) -> bool | None:
    """True/False from the registered check, None when nothing is registered."""
    if not _paid_check:
        return None
    return bool(_paid_check[0](reference))


def register_payment_recorder(func: PaymentRecorder) -> PaymentRecorder:
    _payment_recorder[:] = [func]
    return func


def unregister_payment_recorder() -> None:
    _payment_recorder.clear()


def payment_recorder() -> PaymentRecorder | None:
    return _payment_recorder[0] if _payment_recorder else None


def snapshot() -> tuple:
    """Everything registered, to put back with `restore` (tests that swap handlers)."""
    return dict(_handlers), list(_paid_check), list(_payment_recorder)


def restore(state: tuple) -> None:
    handlers, checks, recorders = state
    _handlers.clear()
    _handlers.update(handlers)
    _paid_check[:] = checks
    _payment_recorder[:] = recorders
