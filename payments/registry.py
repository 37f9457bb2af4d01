"""Where other apps plug into the Stripe boundary without `payments` importing them.

- `register(event_type)`: the handler for one Stripe event type. It receives the
  stored `StripeEvent` and runs inside the inbox's transaction (a savepoint): if it
  raises, its writes are rolled back and the event is marked failed and retried.
  Handlers must be idempotent: a replay runs them again on the same payload.
- `register_fulfilment_check(func)`: answers "is the order with this reference
  (a Checkout Session's `client_reference_id`) fulfilled?" for `stripe_reconcile`.
- `register_fulfilment(func)`: fulfils a paid Checkout Session (the session as a
  dict, as Stripe reports it now) for `stripe_reconcile --apply`; the same
  function the webhook handler and the success page use. Returns True when the
  reference is fulfilled afterwards.

`orders` registers both in its `AppConfig.ready()`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from payments.models import StripeEvent

Handler = Callable[["StripeEvent"], None]
FulfilmentCheck = Callable[[str], bool]
Fulfilment = Callable[[dict], bool]

_handlers: dict[str, Handler] = {}
_fulfilment_check: list[FulfilmentCheck] = []
_fulfilment: list[Fulfilment] = []


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


def register_fulfilment_check(func: FulfilmentCheck) -> FulfilmentCheck:
    _fulfilment_check[:] = [func]
    return func


def unregister_fulfilment_check() -> None:
    _fulfilment_check.clear()


def fulfilment_check_registered() -> bool:
    return bool(_fulfilment_check)


def reference_is_fulfilled(reference: str) -> bool | None:
    """True/False from the registered check, None when nothing is registered."""
    if not _fulfilment_check:
        return None
    return bool(_fulfilment_check[0](reference))


def register_fulfilment(func: Fulfilment) -> Fulfilment:
    _fulfilment[:] = [func]
    return func


def unregister_fulfilment() -> None:
    _fulfilment.clear()


def fulfilment_for() -> Fulfilment | None:
    return _fulfilment[0] if _fulfilment else None


def snapshot() -> tuple:
    """Everything registered, to put back with `restore` (tests that swap handlers)."""
    return dict(_handlers), list(_fulfilment_check), list(_fulfilment)


def restore(state: tuple) -> None:
    handlers, checks, fulfilments = state
    _handlers.clear()
    _handlers.update(handlers)
    _fulfilment_check[:] = checks
    _fulfilment[:] = fulfilments
