"""Writes of the orders app, one module per sub-domain:

- `accounts`: sign-up, profile.
- `cart`: session and database carts, caps, merge on login, re-checks.
- `checkout`: placing an order (reserve + price + hand over to payments).
- `reservations`: holding and releasing stock, exactly once.
- `lifecycle`: the order state machine and the calls payments makes.
"""
