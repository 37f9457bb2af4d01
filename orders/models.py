"""Shopper profiles, carts, orders with their lines, events and stock reservations.

Every table here holds one shopper's data and is protected by PostgreSQL row
security (migration 0002, see docs/orders.md): a database session sees only the
rows of the shopper its scope names, or everything under the service scope.
Money is integer minor units plus an ISO currency code."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from catalog.models import Variant
from orders.carriers import CARRIERS

ORDER_NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud on the phone


def order_number_new() -> str:
    """A short human order number such as RDK-7K3QH9; random, so it says nothing about volume."""
    return "RDK-" + "".join(secrets.choice(ORDER_NUMBER_ALPHABET) for _ in range(6))


class Profile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    full_name = models.CharField(max_length=150, blank=True)
    address_line1 = models.CharField("address", max_length=200, blank=True)
    address_line2 = models.CharField("address (line 2)", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField("state / region", max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="Two-letter country code.")
    phone = models.CharField(max_length=30, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.full_name or str(self.user)

    @property
    def shipping_address(self) -> str:
        parts = [
            self.full_name,
            self.address_line1,
            self.address_line2,
            " ".join(p for p in (self.postal_code, self.city) if p),
            self.region,
            self.country,
        ]
        return "\n".join(p for p in parts if p)


class Cart(models.Model):
    """A signed-in shopper's cart (anonymous visitors keep theirs in the session)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cart"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Cart of {self.user}"


class CartItem(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveSmallIntegerField()
    unit_amount_seen = models.PositiveIntegerField(
        help_text="The price the shopper last saw, to tell them when it changes."
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "variant"], name="cartitem_unique_variant"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="cartitem_quantity_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant_id}"


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", "Awaiting payment"
    PAID = "paid", "Paid"
    SHIPPED = "shipped", "Shipped"
    CANCELED = "canceled", "Canceled"
    REFUNDED = "refunded", "Refunded"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"


# An order in one of these states was paid: it carries the payment that paid it.
PAID_STATES = frozenset(
    {
        OrderStatus.PAID,
        OrderStatus.SHIPPED,
        OrderStatus.PARTIALLY_REFUNDED,
        OrderStatus.REFUNDED,
    }
)


class Order(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(max_length=12, unique=True, default=order_number_new, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    email = models.EmailField()
    status = models.CharField(
        max_length=24,
        choices=OrderStatus.choices,
        default=OrderStatus.PENDING_PAYMENT,
        db_index=True,
    )
    currency = models.CharField(max_length=3)
    subtotal_amount = models.PositiveIntegerField()
    total_amount = models.PositiveIntegerField()
    captured_amount = models.PositiveIntegerField(default=0)
    refunded_amount = models.PositiveIntegerField(default=0)
    payment_reference = models.CharField(max_length=255, blank=True, db_index=True)
    # A snapshot taken at checkout (orders.addresses.ShippingAddress): editing
    # the profile later never changes a placed order.
    shipping_address = models.TextField(blank=True)
    ship_to = models.JSONField(default=dict, blank=True)
    reserved_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # The current Stripe Checkout Session: attempt n has the idempotency key
    # rdk-checkout-<public_id>-<n>; its expiry is fixed when the attempt starts,
    # so retrying the same attempt sends the same parameters.
    checkout_attempt = models.PositiveSmallIntegerField(default=0)
    checkout_session_id = models.CharField(max_length=255, blank=True, db_index=True)
    checkout_expires_at = models.DateTimeField(null=True, blank=True)
    # Shipping is its own state beside the payment's: a shipped order that is
    # later refunded in part still shows that it was shipped.
    shipped_at = models.DateTimeField(null=True, blank=True)
    carrier = models.CharField(max_length=20, blank=True)
    tracking_number = models.CharField(max_length=40, blank=True)
    # Staff attention: a chargeback was opened on the payment.
    disputed_at = models.DateTimeField(null=True, blank=True)
    dispute_reference = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # Staff actions beyond Django's add/change/delete/view (docs/ops-console.md).
        permissions = [
            ("ship_order", "Can mark paid orders shipped"),
            ("cancel_order", "Can cancel unpaid orders"),
            ("refund_order", "Can refund orders up to the staff refund limit"),
            ("refund_order_any_amount", "Can refund orders above the staff refund limit"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=F("captured_amount")),
                name="order_refund_lte_captured",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("orders:order_detail", kwargs={"public_id": self.public_id})

    @property
    def pair_count(self) -> int:
        """Pairs in the order (uses prefetched lines when there are some)."""
        return sum(line.quantity for line in self.lines.all())

    @property
    def is_pending(self) -> bool:
        return self.status == OrderStatus.PENDING_PAYMENT

    @property
    def last_payment_failure(self) -> OrderEvent | None:
        """The latest declined payment attempt, while the order awaits payment."""
        failures = [e for e in self.events.all() if e.kind == OrderEventKind.PAYMENT_FAILED]
        return failures[-1] if failures else None

    @property
    def refundable_amount(self) -> int:
        return self.captured_amount - self.refunded_amount

    @property
    def payment_state(self) -> str:
        """The payment, told apart from shipping: awaiting payment, paid,
        partially refunded, refunded or canceled."""
        if self.status not in PAID_STATES:
            return OrderStatus(self.status).label
        if self.refunded_amount == 0:
            return OrderStatus.PAID.label
        if self.refunded_amount >= self.captured_amount:
            return OrderStatus.REFUNDED.label
        return OrderStatus.PARTIALLY_REFUNDED.label

    @property
    def shipping_state(self) -> str:
        """ "Shipped", "Not shipped yet" (paid, pairs still here) or "" (nothing to ship)."""
        if self.shipped_at:
            return "Shipped"
        if self.status in (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED):
            return "Not shipped yet"
        return ""

    @property
    def tracking_link(self) -> str:
        carrier = CARRIERS.get(self.carrier)
        return (
            carrier.tracking_link(self.tracking_number) if carrier and self.tracking_number else ""
        )

    @property
    def carrier_name(self) -> str:
        carrier = CARRIERS.get(self.carrier)
        return carrier.name if carrier else self.carrier


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    product_name = models.CharField(max_length=160)
    size_label = models.CharField(max_length=20)
    sku = models.CharField(max_length=64)
    unit_amount = models.PositiveIntegerField()
    quantity = models.PositiveSmallIntegerField()
    line_amount = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orderline_quantity_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_name} {self.size_label}"


class OrderEventKind(models.TextChoices):
    STATUS = "status", "Status change"
    PAYMENT_PROCESSING = "payment_processing", "Payment processing"
    PAYMENT_FAILED = "payment_failed", "Payment failed"
    DISPUTE = "dispute", "Dispute opened"
    LATE_PAYMENT = "late_payment", "Payment for a closed order"
    TRACKING = "tracking", "Tracking corrected"


class OrderEvent(models.Model):
    """One status transition (kind `status`), or something that happened to the
    order without changing its status (a declined card, a dispute): what, when,
    who (or which system), and the request it came from."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=24, blank=True)
    to_status = models.CharField(max_length=24, choices=OrderStatus.choices)
    kind = models.CharField(
        max_length=24, choices=OrderEventKind.choices, default=OrderEventKind.STATUS
    )
    actor = models.CharField(max_length=150, help_text="user:<id>, staff:<id> or system:<name>")
    note = models.CharField(max_length=300, blank=True)
    reference = models.CharField(
        max_length=255, blank=True, help_text="Payment or refund reference, for idempotency."
    )
    request_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status or '∅'} → {self.to_status}"


class ReservationStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    RELEASED = "released", "Released"
    CONSUMED = "consumed", "Sold"


class Reservation(models.Model):
    """Pairs of one size held for a pending order until `expires_at`.

    While active, `quantity` is counted in the variant's `stock_reserved`. It
    leaves that state exactly once: released (stock back on sale) or consumed
    (sold: on hand and reserved both drop)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="reservations")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveSmallIntegerField()
    status = models.CharField(
        max_length=10, choices=ReservationStatus.choices, default=ReservationStatus.ACTIVE
    )
    expires_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["expires_at"],
                condition=Q(status="active"),
                name="reservation_active_expiry",
            )
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="reservation_quantity_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant_id} ({self.status})"
