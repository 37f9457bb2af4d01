"""A local stand-in for the part of Stripe's API that RDK calls.

It runs as its own process (`manage.py stripe_standin`, loopback only) or, in
tests, in a thread on a free port. It needs no Django: `objects` builds Stripe-
shaped objects, `store` holds them and applies payments, refunds and expiry,
`webhooks` signs and delivers events with retries, `app` is the WSGI app (the
API, the hosted checkout page and the `/_standin/` control endpoints) and
`server` serves it.
"""

from payments.standin.server import StandIn

__all__ = ["StandIn"]
