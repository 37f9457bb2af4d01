"""Carts: a session cart for anonymous visitors, a database cart once signed in.

Rules (docs/orders.md):
- a line is one size (variant) with a quantity from 1 to the product's
  `max_per_size` (default 2), and never more than is available;
- every time the cart is shown (`cart_refresh`) and again at checkout, sizes no
  longer on sale or sold out are dropped, quantities above what is left are
  lowered, and price changes since the shopper last saw them are reported;
- on sign-in the session cart merges into the shopper's (`cart_merge`): the
  quantities add up, then the cap and stock apply; sold-out sizes are dropped.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache
from django.db import transaction

from catalog.models import Variant
from orders.exceptions import CartError
from orders.models import Cart, CartItem
from orders.services.reservations import reservations_release_expired
from rdk.funnel import funnel_count
from rdk.models import FunnelStep
from rdk.money import money_text

logger = logging.getLogger(__name__)

SESSION_KEY = "cart"
COUNT_KEY_PREFIX = "cart-count:"
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

    def count(self) -> int:
        return sum(q for q, _ in self.items().values())


class DbCartStore:
    """The signed-in shopper's cart rows (protected by row security).

    The pair count the header shows is also kept in the shared cache, under
    this shopper's own key, and dropped after every change commits: pages
    served from a shared shell (rdk.pagecache) fill the header without a
    scoped transaction."""

    def __init__(self, user) -> None:
        self.user = user

    @property
    def _count_key(self) -> str:
        return f"{COUNT_KEY_PREFIX}{self.user.pk}"

    def _changed(self) -> None:
        key = self._count_key
        transaction.on_commit(lambda: cache.delete(key))

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

    def count(self) -> int:
        return sum(q for q, _ in self.items().values())

    def cached_count(self) -> int | None:
        """The count kept in the shared cache, or None (then `count()` under a
        row-security scope, and `remember_count`)."""
        return cache.get(self._count_key)

    def remember_count(self, count: int) -> None:
        cache.set(self._count_key, count, COUNT_TTL)


CartStore = SessionCartStore | DbCartStore


def cart_store_for(request) -> CartStore:
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


def _variants(ids) -> dict[int, Variant]:
    return Variant.objects.select_related("product", "product__brand").in_bulk(list(ids))


def _label(variant: Variant) -> str:
    return f"{variant.product.name} ({variant.size_label})"


def _on_sale(variant: Variant | None) -> bool:
    return variant is not None and variant.product.is_active


def _parse_quantity(raw) -> int:
    try:
        quantity = int(str(raw).strip())
    except (TypeError, ValueError):
        raise CartError("Enter a quantity as a whole number.") from None
    if quantity < 1:
        raise CartError("Quantity must be at least 1. To take a size out, use Remove.")
    return quantity


def _parse_variant_id(raw) -> int:
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        raise CartError("Choose a size first.") from None
    if value < 1 or value > 2**62:
        raise CartError("That size is not available.")
    return value


@transaction.atomic
def cart_add(*, store: CartStore, variant_id, quantity=1) -> str:
    """Add pairs of one size; returns the message to show. Raises CartError."""
    variant_pk = _parse_variant_id(variant_id)
    wanted = _parse_quantity(quantity)
    reservations_release_expired(variant_ids=[variant_pk])
    variant = _variants([variant_pk]).get(variant_pk)
    if not _on_sale(variant):
        raise CartError("That size is not available.")
    items = store.items()
    if items:
        other_ids = [v for v in items if v != variant_pk]
        currencies = {v.product.currency for v in _variants(other_ids).values()}
        if currencies and variant.product.currency not in currencies:
            raise CartError("This pair is priced in another currency; check out your cart first.")
    in_cart = items.get(variant_pk, (0, 0))[0]
    cap = variant.product.max_per_size
    total = in_cart + wanted
    if total > cap:
        raise CartError(
            f"You can buy at most {cap} pair{'s' if cap != 1 else ''} of {_label(variant)}"
            + (f"; {in_cart} already in your cart." if in_cart else ".")
        )
    if variant.stock_available <= 0:
        raise CartError(f"{_label(variant)} is sold out.")
    if total > variant.stock_available:
        raise CartError(f"Only {variant.stock_available} left of {_label(variant)}.")
    store.put(variant_pk, total, variant.price_amount)
    logger.info("cart.add", extra={"variant_id": variant_pk, "quantity": total})
    funnel_count(FunnelStep.CART_ADD)
    return f"Added {_label(variant)} to your cart."


@transaction.atomic
def cart_update(*, store: CartStore, variant_id, quantity) -> str:
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
    cap = variant.product.max_per_size
    if wanted > cap:
        raise CartError(f"You can buy at most {cap} of {_label(variant)}.")
    if wanted > variant.stock_available:
        raise CartError(f"Only {max(variant.stock_available, 0)} left of {_label(variant)}.")
    store.put(variant_pk, wanted, items[variant_pk][1])
    return f"Updated {_label(variant)}."


@transaction.atomic
def cart_remove(*, store: CartStore, variant_id) -> str:
    variant_pk = _parse_variant_id(variant_id)
    if variant_pk not in store.items():
        raise CartError("That size is not in your cart.")
    store.remove(variant_pk)
    return "Removed from your cart."


@transaction.atomic
def cart_refresh(*, store: CartStore) -> CartSummary:
    """Re-check every line against the database and correct the cart.

    Returns the lines with current prices and one notice per change (dropped
    size, lowered quantity, new price). The prices seen are updated, so each
    change is reported once; checkout refuses when there are notices."""
    items = store.items()
    summary = CartSummary()
    if not items:
        return summary
    reservations_release_expired(variant_ids=list(items))
    variants = _variants(items)
    for variant_pk, (quantity, seen) in items.items():
        variant = variants.get(variant_pk)
        if not _on_sale(variant):
            store.remove(variant_pk)
            summary.notices.append("A size in your cart is no longer sold and was removed.")
            continue
        label = _label(variant)
        available = max(variant.stock_available, 0)
        if available == 0:
            store.remove(variant_pk)
            summary.notices.append(f"{label} sold out and was removed from your cart.")
            continue
        allowed = min(quantity, variant.product.max_per_size, available)
        price = variant.price_amount
        if allowed != quantity:
            summary.notices.append(f"{label}: only {allowed} available, quantity lowered.")
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
                max_quantity=min(variant.product.max_per_size, available),
            )
        )
    return summary


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
    notices: list[str] = []
    for variant_pk, (quantity, _seen) in incoming.items():
        variant = variants.get(variant_pk)
        if not _on_sale(variant):
            notices.append("A size from your earlier cart is no longer sold and was dropped.")
            continue
        label = _label(variant)
        available = max(variant.stock_available, 0)
        if available == 0:
            notices.append(f"{label} sold out and was dropped.")
            continue
        had = existing.get(variant_pk, (0, variant.price_amount))[0]
        combined = had + quantity
        allowed = min(combined, variant.product.max_per_size, available)
        if allowed < combined:
            reason = "the limit per size" if allowed == variant.product.max_per_size else "stock"
            notices.append(f"{label}: kept {allowed} (of {combined}) because of {reason}.")
        elif had:
            notices.append(f"{label}: combined with your saved cart ({allowed}).")
        else:
            notices.append(f"{label} added from your earlier cart.")
        target.put(variant_pk, allowed, variant.price_amount)
    source.clear()
    logger.info("cart.merge", extra={"lines": len(incoming), "notices": len(notices)})
    return notices
