"""A signed-in shopper's cart and order list, cached for them alone
(rdk.pagecache.PersonalPage), and the versions they are kept under.

Each shopper has two versions (rdk.usercache), read with their user at the
start of every request, in the same round trip:

- `cart-v:<user id>`: dropped after every change to their cart commits
  (`DbCartStore`, pairs put back by an expired checkout);
- `orders-v:<user id>`: dropped after every write to one of their orders
  commits (placed, paid, shipped, refunded, canceled, expired, disputed: the
  `post_save` of `Order`, orders/receivers.py).

The order list depends on the orders version only. The cart page also shows
the stock, prices and release of the sizes in the cart (their `product:<id>`
and `brand:<id>` tags: every catalog write and every reservation or release
revalidates them), the shopper's pairs held in recent orders (the orders
version), the checkout switch (its state is part of the versions), and the
time: the page is kept no longer than the next hold on one of its sizes
expires, or an order leaves the purchase limit (`cart_changes_at`)."""

from __future__ import annotations

from django.contrib.auth.models import User

from rdk.pagecache import PersonalPage
from rdk.switches import CHECKOUT_MAINTENANCE, switch_is_on
from rdk.usercache import user_cache_drop, user_version

COUNT_KEY_PREFIX = "cart-count:"
CART_VERSION_PREFIX = "cart-v:"
ORDERS_VERSION_PREFIX = "orders-v:"

CART_PAGE = PersonalPage("cart")
ORDERS_PAGE = PersonalPage("orders")


def count_key(user_pk: object) -> str:
    """The cache key of a signed-in shopper's pair count, the header's (read
    with the user; orders.services.cart keeps it)."""
    return f"{COUNT_KEY_PREFIX}{user_pk}"


def cart_version_key(user_pk: object) -> str:
    return f"{CART_VERSION_PREFIX}{user_pk}"


def orders_version_key(user_pk: object) -> str:
    return f"{ORDERS_VERSION_PREFIX}{user_pk}"


def cart_changed(*, user_pk: object) -> None:
    """The shopper's cart changed: once the change commits, their header count
    is counted again and their cart page rendered afresh (one round trip)."""
    user_cache_drop(count_key(user_pk), cart_version_key(user_pk))


def orders_changed(*, user_pk: object) -> None:
    """One of the shopper's orders changed: their order list and cart page are
    rendered afresh once the change commits."""
    user_cache_drop(orders_version_key(user_pk))


def cart_page_versions(*, user: User) -> dict[str, object]:
    """What the shopper's cart page is kept under, read before its data."""
    return {
        "cart": user_version(user, cart_version_key(user.pk)),
        "orders": user_version(user, orders_version_key(user.pk)),
        "checkout_paused": switch_is_on(CHECKOUT_MAINTENANCE),
    }


def orders_page_versions(*, user: User) -> dict[str, object]:
    """What the shopper's order list is kept under, read before its data."""
    return {"orders": user_version(user, orders_version_key(user.pk))}
