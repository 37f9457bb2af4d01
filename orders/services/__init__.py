"""Writes of the orders app, one module per sub-domain:

- `accounts`: sign-up, profile.
- `cart`: session and database carts, caps, merge on login, re-checks.
- `checkout`: placing an order (reserve + price), the hand-over to payments,
  and the shopper's return from Stripe's page (confirm, abandon).
- `reservations`: holding and releasing stock, exactly once.
- `states`: the order state machine, the order lock and the one order-event writer.
- `lifecycle`: what happens to a placed order: paid, shipped, canceled, refunded.
- `payments`: marking an order paid from its Checkout Session (late payments
  refunded), and the checks `stripe_reconcile` uses.
- `refunds`: refunds made from RDK or reported by Stripe.

What each Stripe event does is in `orders.handlers`.
"""
