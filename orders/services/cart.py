"""Carts: a session cart for anonymous visitors, a database cart once signed in.

Rules (docs/orders.md):
- a line is one size (variant) with a quantity from 1 to the product's
  `max_per_size` (default 2), and never more than is available;
- every time the cart is shown (`cart_refresh`) and again at checkout, sizes no
  longer on sale or sold out are dropped, quantities above what is left are
  lowered, and price changes since the shopper last saw them are reported;
- on sign-in the session cart merges into the shopper's (`cart_merge`): the
  quantities add up, then the cap and stock apply; sold-out sizes are dropped;
- a cart holds one currency: adding, merging and refreshing keep it so (a
  pair priced in another currency is refused or dropped, never charged in
  the cart's currency);
- a pair is sold only from its release date (the server checks, not only
  the template's disabled button);
- for a signed-in shopper the cap counts what they already hold: pairs of
  the size in their orders awaiting payment or paid in the last
  `ORDERS_PURCHASE_LIMIT_DAYS` days, so five orders do not buy five pairs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeGuard

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache
from django.db import transaction
from django.db.models import Min, Sum
from django.http import HttpRequest
from django.utils import timezone

from catalog.models import Variant
from catalog.selectors import is_released
from orders.exceptions import CartError
from orders.models import Cart, CartItem, OrderLine, OrderStatus
from orders.pages import cart_changed, count_key
from orders.services.reservations import reservations_next_expiry, reservations_release_expired
from rdk.funnel import funnel_count
from rdk.models import FunnelStep
from rdk.money import money_text
from rdk.usercache import NOT_READ, user_cache_forget, user_cache_value

logger = logging.getLogger(__name__)

SESSION_KEY = "cart"
COUNT_TTL = 300  # bounds a count left stale by a change outside DbCartStore (admin)


class SessionCartStore:
    """{variant id: [quantity, unit amount seen]} in the session."""

    def __init__(self, session: SessionBase) -> None:
        self.session = session

    def items(self) -> dict[int, tuple[int, int]]:
        raw = self.session.get(SESSION_KEY) or {}
        return {int(k): (int(v[0]), int(v[1])) for k, v in raw.items()}

    def put(self, variant_id: int, quantity: int, unit_amount_seen: int) -> None:
        raw = dict(self.session.get(SESSION_KEY) or {})
        raw[str(variant_id)] = [quantity, unit_amount_seen]
        self.session[SESSION_KEY] = raw

    def remove(self, variant_id: int) -> None:
        raw = dict(self.session.get(SESSION_KEY) or {})
        raw.pop(str(variant_id), None)
        self.session[SESSION_KEY] = raw

    def clear(self) -> None:
        self.session.pop(SESSION_KEY, None)

    def lock(self) -> None:
        """Nothing to lock: a visitor cannot check out before signing in."""

    def count(self) -> int:
        return sum(q for q, _ in self.items().values())


class DbCartStore:
    """The signed-in shopper's cart rows (protected by row security).

    The pair count the header shows is also kept in the shared cache, under
    this shopper's own key, and dropped after every change commits: pages
    served from a shared shell (rdk.pagecache) fill the header without a
    scoped transaction. The cart's version (orders.pages) is dropped with
    it: the shopper's cart page is rendered afresh."""

    def __init__(self, user: User) -> None:
        self.user = user

    @property
    def _count_key(self) -> str:
        return count_key(self.user.pk)

    def _changed(self) -> None:
        user_cache_forget(self.user, self._count_key)
        cart_changed(user_pk=self.user.pk)

    def _cart(self) -> Cart:
        cart, _ = Cart.objects.get_or_create(user=self.user)
        return cart

    def items(self) -> dict[int, tuple[int, int]]:
        rows = CartItem.objects.filter(cart__user=self.user).values_list(
            "variant_id", "quantity", "unit_amount_seen"
        )
        return {v: (q, p) for v, q, p in rows}

    def put(self, variant_id: int, quantity: int, unit_amount_seen: int) -> None:
        CartItem.objects.update_or_create(
            cart=self._cart(),
            variant_id=variant_id,
            defaults={"quantity": quantity, "unit_amount_seen": unit_amount_seen},
        )
        self._changed()

    def remove(self, variant_id: int) -> None:
        CartItem.objects.filter(cart__user=self.user, variant_id=variant_id).delete()
        self._changed()

    def clear(self) -> None:
        CartItem.objects.filter(cart__user=self.user).delete()
        self._changed()

    def lock(self) -> None:
        """Hold the shopper's cart row until the transaction ends, so two
        checkouts of this cart (two tabs) take turns: the second sees the
        first's order in the purchase limit and the emptied cart."""
        Cart.objects.select_for_update().get_or_create(user=self.user)

    def count(self) -> int:
        return sum(q for q, _ in self.items().values())

    def cached_count(self) -> int | None:
        """The count kept in the shared cache, or None (then `count()` under a
        row-security scope, and `remember_count`). Read with the user when
        the request began (rdk.usercache), else from the cache now."""
        read = user_cache_value(self.user, self._count_key)
        count: int | None = cache.get(self._count_key) if read is NOT_READ else read
        return count

    def remember_count(self, count: int) -> None:
        cache.set(self._count_key, count, COUNT_TTL)


CartStore = SessionCartStore | DbCartStore


def cart_store_for(request: HttpRequest) -> CartStore:
    if request.user.is_authenticated:
        return DbCartStore(request.user)
    return SessionCartStore(request.session)


@dataclass(frozen=True)
class CartLine:
    variant: Variant
    quantity: int
    unit_amount: int
    max_quantity: int

    @property
    def line_amount(self) -> int:
        return self.unit_amount * self.quantity


@dataclass
class CartSummary:
    lines: list[CartLine] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    # When the first order counted in a line's cap leaves the purchase limit.
    held_until: dt.datetime | None = None

    @property
    def count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def subtotal(self) -> int:
        return sum(line.line_amount for line in self.lines)

    @property
    def currency(self) -> str:
        return self.lines[0].variant.product.currency if self.lines else "USD"

    @property
    def fingerprint(self) -> str:
        """Changes whenever what the shopper would pay changes."""
        raw = ";".join(f"{li.variant.pk}:{li.quantity}:{li.unit_amount}" for li in self.lines)
        return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _variants(ids: Iterable[int]) -> dict[int, Variant]:
    return Variant.objects.select_related("product", "product__brand").in_bulk(list(ids))


def _label(variant: Variant) -> str:
    return f"{variant.product.name} ({variant.size_label})"


def _on_sale(variant: Variant | None) -> TypeGuard[Variant]:
    return variant is not None and variant.product.is_active and is_released(variant.product)


# Orders that hold their pairs: awaiting payment, or paid and not fully refunded.
HOLDING = (
    OrderStatus.PENDING_PAYMENT,
    OrderStatus.PAID,
    OrderStatus.SHIPPED,
    OrderStatus.PARTIALLY_REFUNDED,
)


def _held_since(store: CartStore, variant_ids: Iterable[int]) -> dict[int, tuple[int, dt.datetime]]:
    """{variant id: (pairs, when the oldest order holding them was placed)}
    the signed-in shopper holds in recent orders (none for a visitor, who
    cannot check out before signing in)."""
    days = settings.ORDERS_PURCHASE_LIMIT_DAYS
    if not isinstance(store, DbCartStore) or days <= 0:
        return {}
    since = timezone.now() - dt.timedelta(days=days)
    rows = (
        OrderLine.objects.filter(
            order__user=store.user,
            order__status__in=HOLDING,
            order__created_at__gte=since,
            variant_id__in=list(variant_ids),
        )
        .values("variant_id")
        .annotate(pairs=Sum("quantity"), oldest=Min("order__created_at"))
    )
    return {row["variant_id"]: (row["pairs"], row["oldest"]) for row in rows}


def _held(store: CartStore, variant_ids: Iterable[int]) -> dict[int, int]:
    """{variant id: pairs} the signed-in shopper holds in recent orders."""
    return {variant: pairs for variant, (pairs, _) in _held_since(store, variant_ids).items()}


def _cap(variant: Variant, held: dict[int, int]) -> int:
    """How many pairs of this size the cart may hold."""
    return max(variant.product.max_per_size - held.get(variant.pk, 0), 0)


def _too_many(variant: Variant, held: dict[int, int], in_cart: int = 0) -> str:
    cap = variant.product.max_per_size
    already = held.get(variant.pk, 0)
    text = f"You can buy at most {cap} pair{'s' if cap != 1 else ''} of {_label(variant)}"
    if already:
        days = settings.ORDERS_PURCHASE_LIMIT_DAYS
        return f"{text}; your orders of the last {days} days hold {already}."
    return text + (f"; {in_cart} already in your cart." if in_cart else ".")


def _parse_quantity(raw: object) -> int:
    try:
        quantity = int(str(raw).strip())
    except (TypeError, ValueError):
        raise CartError("Enter a quantity as a whole number.") from None
    if quantity < 1:
        raise CartError("Quantity must be at least 1. To take a size out, use Remove.")
    return quantity


def _parse_variant_id(raw: object) -> int:
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        raise CartError("Choose a size first.") from None
    if value < 1 or value > 2**62:
        raise CartError("That size is not available.")
    return value


@transaction.atomic
def cart_add(*, store: CartStore, variant_id: object, quantity: object = 1) -> str:
    """Add pairs of one size; returns the message to show. Raises CartError."""
    variant_pk = _parse_variant_id(variant_id)
    wanted = _parse_quantity(quantity)
    reservations_release_expired(variant_ids=[variant_pk])
    variant = _variants([variant_pk]).get(variant_pk)
    if variant is not None and variant.product.is_active and not is_released(variant.product):
        raise CartError(
            f"{variant.product.name} is not released yet: on sale from "
            f"{variant.product.release_date:%B} {variant.product.release_date.day}."
        )
    if not _on_sale(variant):
        raise CartError("That size is not available.")
    items = store.items()
    if items:
        other_ids = [v for v in items if v != variant_pk]
        currencies = {v.product.currency for v in _variants(other_ids).values()}
        if currencies and variant.product.currency not in currencies:
            raise CartError("This pair is priced in another currency; check out your cart first.")
    in_cart = items.get(variant_pk, (0, 0))[0]
    held = _held(store, [variant_pk])
    total = in_cart + wanted
    if total > _cap(variant, held):
        raise CartError(_too_many(variant, held, in_cart))
    if variant.stock_available <= 0:
        raise CartError(f"{_label(variant)} is sold out.")
    if total > variant.stock_available:
        raise CartError(f"Only {variant.stock_available} left of {_label(variant)}.")
    store.put(variant_pk, total, variant.price_amount)
    logger.info("cart.add", extra={"variant_id": variant_pk, "quantity": total})
    funnel_count(FunnelStep.CART_ADD)
    return f"Added {_label(variant)} to your cart."


@transaction.atomic
def cart_update(*, store: CartStore, variant_id: object, quantity: object) -> str:
    variant_pk = _parse_variant_id(variant_id)
    wanted = _parse_quantity(quantity)
    items = store.items()
    if variant_pk not in items:
        raise CartError("That size is not in your cart.")
    reservations_release_expired(variant_ids=[variant_pk])
    variant = _variants([variant_pk]).get(variant_pk)
    if not _on_sale(variant):
        store.remove(variant_pk)
        raise CartError("That size is no longer available and was removed.")
    held = _held(store, [variant_pk])
    if wanted > _cap(variant, held):
        raise CartError(_too_many(variant, held))
    if wanted > variant.stock_available:
        raise CartError(f"Only {max(variant.stock_available, 0)} left of {_label(variant)}.")
    store.put(variant_pk, wanted, items[variant_pk][1])
    return f"Updated {_label(variant)}."


@transaction.atomic
def cart_remove(*, store: CartStore, variant_id: object) -> str:
    variant_pk = _parse_variant_id(variant_id)
    if variant_pk not in store.items():
        raise CartError("That size is not in your cart.")
    store.remove(variant_pk)
    return "Removed from your cart."


def _items_and_variants(store: CartStore) -> tuple[dict[int, tuple[int, int]], dict[int, Variant]]:
    """The cart's lines and their sizes (with product and brand): one query
    for a signed-in shopper's cart."""
    if isinstance(store, SessionCartStore):
        items = store.items()
        return items, (_variants(items) if items else {})
    rows = CartItem.objects.filter(cart__user=store.user).select_related("variant__product__brand")
    items, variants = {}, {}
    for row in rows:
        items[row.variant_id] = (row.quantity, row.unit_amount_seen)
        variants[row.variant_id] = row.variant
    return items, variants


# No savepoint: nested in a caller's transaction (the request's, order_place's)
# a failure here fails the caller, which rolls back as a whole.
@transaction.atomic(savepoint=False)
def cart_refresh(*, store: CartStore) -> CartSummary:
    """Re-check every line against the database and correct the cart.

    Returns the lines with current prices and one notice per change (dropped
    size, lowered quantity, new price). The prices seen are updated, so each
    change is reported once; checkout refuses when there are notices."""
    items, variants = _items_and_variants(store)
    summary = CartSummary()
    if not items:
        return summary
    # An expired reservation still counts in its size's stock_reserved: where
    # every size reserves nothing there is nothing to release (and no need
    # for the service scope that looking would take).
    held_somewhere = any(v.stock_reserved > 0 for v in variants.values())
    if held_somewhere and reservations_release_expired(variant_ids=list(items)):
        variants = _variants(items)
    held_since = _held_since(store, items)
    held = {variant: pairs for variant, (pairs, _) in held_since.items()}
    if held_since:
        oldest = min(since for _, since in held_since.values())
        summary.held_until = oldest + dt.timedelta(days=settings.ORDERS_PURCHASE_LIMIT_DAYS)
    currency = None
    for variant_pk, (quantity, seen) in items.items():
        variant = variants.get(variant_pk)
        if not _on_sale(variant):
            store.remove(variant_pk)
            summary.notices.append("A size in your cart is no longer sold and was removed.")
            continue
        label = _label(variant)
        # One currency per cart, re-checked here: a price moved to another
        # currency must never be charged in the cart's.
        currency = currency or variant.product.currency
        if variant.product.currency != currency:
            store.remove(variant_pk)
            summary.notices.append(
                f"{label} is now priced in {variant.product.currency}, your cart in "
                f"{currency}: it was removed. Check out your cart, then add it again."
            )
            continue
        available = max(variant.stock_available, 0)
        if available == 0:
            store.remove(variant_pk)
            summary.notices.append(f"{label} sold out and was removed from your cart.")
            continue
        cap = _cap(variant, held)
        if cap == 0:
            store.remove(variant_pk)
            summary.notices.append(f"{_too_many(variant, held)} It was removed from your cart.")
            continue
        allowed = min(quantity, cap, available)
        price = variant.price_amount
        if allowed != quantity:
            reason = "available" if allowed == available else "allowed"
            summary.notices.append(f"{label}: only {allowed} {reason}, quantity lowered.")
        if price != seen:
            currency = variant.product.currency
            was, now = (money_text(a, currency, symbol=False) for a in (seen, price))
            summary.notices.append(f"{label}: price changed from {was} to {now}.")
        if allowed != quantity or price != seen:
            store.put(variant_pk, allowed, price)
        summary.lines.append(
            CartLine(
                variant=variant,
                quantity=allowed,
                unit_amount=price,
                max_quantity=min(cap, available),
            )
        )
    return summary


def cart_tags(*, user: User) -> tuple[frozenset[int], list[str]]:
    """The products in the shopper's cart, and the cache tags of what their
    cart page shows of them (each product's and its brand's): read before the
    page, so that a change after this read gives a tag a new version."""
    rows = CartItem.objects.filter(cart__user=user).values_list(
        "variant__product_id", "variant__product__brand_id"
    )
    products = frozenset(product for product, _ in rows)
    brands = sorted({brand for _, brand in rows})
    tags = [f"product:{pk}" for pk in sorted(products)] + [f"brand:{pk}" for pk in brands]
    return products, tags


def cart_changes_at(*, summary: CartSummary) -> dt.datetime | None:
    """The next time a cart page may show something else with nothing
    written: a hold on one of its sizes expires (its pairs are on sale again
    once released: anyone's hold, so this reads across shoppers), or an order
    counted in a line's cap leaves the purchase limit. None: not before
    something is written. Call it after `cart_refresh`, which released the
    holds that had expired."""
    times = [summary.held_until]
    if any(line.variant.stock_reserved > 0 for line in summary.lines):
        variant_ids = [line.variant.pk for line in summary.lines]
        times.append(reservations_next_expiry(variant_ids=variant_ids, now=timezone.now()))
    return min((time for time in times if time is not None), default=None)


@transaction.atomic
def cart_merge(*, source: SessionCartStore, target: DbCartStore) -> list[str]:
    """Merge an anonymous cart into the shopper's at sign-in; returns what changed.

    Quantities of the same size add up; the product's cap and the stock left
    then apply; sizes no longer sold or sold out are dropped. The session cart
    is emptied."""
    incoming = source.items()
    if not incoming:
        return []
    reservations_release_expired(variant_ids=list(incoming))
    existing = target.items()
    variants = _variants(set(incoming) | set(existing))
    held = _held(target, incoming)
    notices: list[str] = []
    # The saved cart's currency wins; an empty one takes the first pair's.
    currencies = [variants[pk].product.currency for pk in existing if pk in variants]
    currency = currencies[0] if currencies else None
    for variant_pk, (quantity, _seen) in incoming.items():
        variant = variants.get(variant_pk)
        if not _on_sale(variant):
            notices.append("A size from your earlier cart is no longer sold and was dropped.")
            continue
        label = _label(variant)
        currency = currency or variant.product.currency
        if variant.product.currency != currency:
            notices.append(
                f"{label} is priced in {variant.product.currency}, your cart in {currency}: "
                "it was left out. Check out your cart, then add it again."
            )
            continue
        available = max(variant.stock_available, 0)
        if available == 0:
            notices.append(f"{label} sold out and was dropped.")
            continue
        had = existing.get(variant_pk, (0, variant.price_amount))[0]
        combined = had + quantity
        cap = _cap(variant, held)
        allowed = min(combined, cap, available)
        if allowed == 0:
            notices.append(f"{_too_many(variant, held)} It was dropped.")
            continue
        if allowed < combined:
            reason = "the limit per size" if allowed == cap else "stock"
            notices.append(f"{label}: kept {allowed} (of {combined}) because of {reason}.")
        elif had:
            notices.append(f"{label}: combined with your saved cart ({allowed}).")
        else:
            notices.append(f"{label} added from your earlier cart.")
        target.put(variant_pk, allowed, variant.price_amount)
    source.clear()
    logger.info("cart.merge", extra={"lines": len(incoming), "notices": len(notices)})
    return notices
