"""Staff manage orders here; actions delegate to the services. The admin runs
under the service row-security scope (rdk.rls.RowSecurityMiddleware).

Each action needs its own permission (`allowed_permissions`: `ship` is
`orders.ship_order`, and so on; the roles are in opsadmin/permissions.py).
Refunds above `ORDERS_STAFF_REFUND_LIMIT` (minor units) also need
`orders.refund_order_any_amount`."""

from typing import cast

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.shortcuts import redirect
from django.template.defaultfilters import linebreaksbr
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from orders.carriers import carriers_offered
from orders.exceptions import OrdersError
from orders.models import PAID_STATES, Order, OrderEvent, OrderLine, Profile, Reservation
from orders.services.lifecycle import order_cancel
from orders.services.refunds import order_refund
from orders.services.shipping import order_ship, order_tracking_correct
from payments.exceptions import PaymentsError
from rdk.forms import MoneyField
from rdk.money import money_text


class RefundForm(forms.Form):
    amount = MoneyField(
        label="Amount to refund",
        min_amount=1,
        help_text="In the order's currency, e.g. 49.99. At most what is left to refund.",
    )
    confirm = forms.BooleanField(label="Refund this amount to the shopper's card now")

    def __init__(self, *args, order: Order, limit: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.order = order
        self.limit = limit
        cast(MoneyField, self.fields["amount"]).currency = order.currency
        self.fields["amount"].initial = order.refundable_amount

    def clean_amount(self) -> int:
        amount = self.cleaned_data["amount"]
        if amount > self.order.refundable_amount:
            left = money_text(self.order.refundable_amount, self.order.currency, symbol=False)
            raise forms.ValidationError(f"At most {left} is left to refund.")
        if self.limit is not None and amount > self.limit:
            most = money_text(self.limit, self.order.currency, symbol=False)
            raise forms.ValidationError(
                f"You may refund at most {most}; more needs the permission {REFUND_ANY_AMOUNT}."
            )
        return amount


class ShipForm(forms.Form):
    """Carrier and tracking number of one order's parcel."""

    carrier = forms.ChoiceField(label="Carrier")
    tracking_number = forms.CharField(label="Tracking number", max_length=40)

    def __init__(self, *args, order: Order, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.order = order
        cast(forms.ChoiceField, self.fields["carrier"]).choices = [
            (c.code, c.name) for c in carriers_offered()
        ]
        if order.shipped_at:
            self.fields["carrier"].initial = order.carrier
            self.fields["tracking_number"].initial = order.tracking_number


def _money_column(field: str, description: str):
    """A read-only admin column showing a minor-unit field in currency units."""

    @admin.display(description=description, ordering=field)
    def column(self, obj) -> str:
        order = obj if isinstance(obj, Order) else obj.order
        return money_text(getattr(obj, field), order.currency, symbol=False)

    column.__name__ = f"{field}_text"
    return column


REFUND_ANY_AMOUNT = "orders.refund_order_any_amount"


def refund_limit_for(user) -> int | None:
    """The most this user may refund at once (None: no limit)."""
    if user.has_perm(REFUND_ANY_AMOUNT):
        return None
    return settings.ORDERS_STAFF_REFUND_LIMIT


class OrderPartInline(admin.TabularInline):
    """A read-only part of an order (its lines, its timeline): whoever may view
    the order sees it. Neither has a permission of its own in any role, so
    without this only superusers saw which pairs to pack."""

    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("orders.view_order")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class OrderLineInline(OrderPartInline):
    model = OrderLine
    readonly_fields = [
        "product_name",
        "size_label",
        "sku",
        "unit_amount_text",
        "quantity",
        "line_amount_text",
    ]
    fields = readonly_fields  # type: ignore[assignment]  # the same names; stubs' list is invariant
    unit_amount_text = _money_column("unit_amount", "Unit price")
    line_amount_text = _money_column("line_amount", "Line total")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order")


class OrderEventInline(OrderPartInline):
    model = OrderEvent
    # Each row's heading already reads "from → to" (OrderEvent.__str__).
    readonly_fields = [
        "created_at",
        "kind",
        "to_status",
        "actor",
        "note",
        "reference",
        "request_id",
    ]
    fields = readonly_fields  # type: ignore[assignment]  # the same names; stubs' list is invariant


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "email",
        "payment_state",
        "shipping_state",
        "total_amount_text",
        "refunded_amount_text",
        "disputed",
        "created_at",
    ]
    list_filter = ["status", ("disputed_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["number", "email", "status", "=public_id", "payment_reference"]
    readonly_fields = [
        "public_id",
        "number",
        "user",
        "email",
        "status",
        "currency",
        "subtotal_amount_text",
        "total_amount_text",
        "captured_amount_text",
        "refunded_amount_text",
        "payment_reference",
        "reserved_until",
        "created_at",
        "paid_at",
        "checkout_attempt",
        "checkout_session_id",
        "checkout_expires_at",
        "disputed_at",
        "dispute_reference",
        "payment_state",
        "shipping_state",
        "ship_to_text",
        "shipped_at",
        "carrier_name",
        "tracking",
    ]
    fieldsets = [
        (None, {"fields": ["number", "public_id", "user", "email", "status", "created_at"]}),
        (
            "Payment",
            {
                "fields": [
                    "payment_state",
                    "currency",
                    "subtotal_amount_text",
                    "total_amount_text",
                    "captured_amount_text",
                    "refunded_amount_text",
                    "paid_at",
                    "payment_reference",
                    "disputed_at",
                    "dispute_reference",
                ]
            },
        ),
        (
            "Shipping",
            {
                "fields": [
                    "shipping_state",
                    "ship_to_text",
                    "shipped_at",
                    "carrier_name",
                    "tracking",
                ]
            },
        ),
        (
            "Checkout",
            {
                "fields": [
                    "reserved_until",
                    "checkout_attempt",
                    "checkout_session_id",
                    "checkout_expires_at",
                ],
                "classes": ["collapse"],
            },
        ),
    ]
    inlines = [OrderLineInline, OrderEventInline]
    actions = ["mark_shipped", "cancel", "refund_in_full"]
    ship_template = "admin/orders/order/ship.html"
    list_select_related = ["user"]

    subtotal_amount_text = _money_column("subtotal_amount", "Subtotal")
    total_amount_text = _money_column("total_amount", "Total")
    captured_amount_text = _money_column("captured_amount", "Captured")
    refunded_amount_text = _money_column("refunded_amount", "Refunded")

    change_form_template = "admin/orders/order/change_form.html"
    # Custom views and the permission each needs (opsadmin.permissions.guard).
    url_permissions = {
        "orders_order_refund": "orders.refund_order",
        "orders_order_ship": "orders.ship_order",
        # Printing the slip is part of shipping (the Fulfilment role).
        "orders_order_packing_slip": "orders.ship_order",
    }

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Payment", ordering="status")
    def payment_state(self, order: Order) -> str:
        return order.payment_state

    @admin.display(description="Shipping", ordering="shipped_at")
    def shipping_state(self, order: Order) -> str:
        return order.shipping_state

    @admin.display(description="Ship to")
    def ship_to_text(self, order: Order) -> str:
        phone = order.ship_to.get("phone")
        text = order.shipping_address + (f"\nPhone {phone}" if phone else "")
        return format_html("<address>{}</address>", linebreaksbr(text))

    @admin.display(description="Carrier")
    def carrier_name(self, order: Order) -> str:
        return order.carrier_name

    @admin.display(description="Tracking")
    def tracking(self, order: Order) -> str:
        if not order.tracking_link:
            return order.tracking_number
        return format_html(
            '<a href="{}" rel="noreferrer" target="_blank">{}</a>',
            order.tracking_link,
            order.tracking_number,
        )

    def has_ship_permission(self, request) -> bool:
        return request.user.has_perm("orders.ship_order")

    def has_cancel_permission(self, request) -> bool:
        return request.user.has_perm("orders.cancel_order")

    def has_refund_permission(self, request) -> bool:
        return request.user.has_perm("orders.refund_order")

    @admin.display(boolean=True, description="Disputed", ordering="disputed_at")
    def disputed(self, order: Order) -> bool:
        return order.disputed_at is not None

    def get_urls(self):
        refund = self.admin_site.admin_view(self.refund_view)
        ship = self.admin_site.admin_view(self.ship_view)
        slip = self.admin_site.admin_view(self.packing_slip_view)
        return [
            path("<path:object_id>/packing-slip/", slip, name="orders_order_packing_slip"),
            path("<path:object_id>/refund/", refund, name="orders_order_refund"),
            path("<path:object_id>/ship/", ship, name="orders_order_ship"),
            *super().get_urls(),
        ]

    def refund_view(self, request, object_id: str):
        """Refund a paid order, in full or in part (never more than is left)."""
        order = self.get_object(request, object_id)
        if order is None or not self.has_refund_permission(request):
            return redirect(reverse("admin:orders_order_changelist"))
        change_url = reverse("admin:orders_order_change", args=[order.pk])
        if order.status not in PAID_STATES or order.refundable_amount <= 0:
            self.message_user(
                request, f"Order {order.number} has nothing to refund.", messages.ERROR
            )
            return redirect(change_url)
        form = RefundForm(request.POST or None, order=order, limit=refund_limit_for(request.user))
        if request.method == "POST" and form.is_valid():
            try:
                order = order_refund(
                    order=order,
                    amount=form.cleaned_data["amount"],
                    actor=f"staff:{request.user.pk}",
                )
            except (OrdersError, PaymentsError) as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                self.message_user(
                    request,
                    "Refunded "
                    f"{money_text(form.cleaned_data['amount'], order.currency, symbol=False)} "
                    f"on order {order.number}.",
                    messages.SUCCESS,
                )
                return redirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Refund order {order.number}",
            "order": order,
            "form": form,
            "opts": self.model._meta,
            "original": order,
        }
        return TemplateResponse(request, "admin/orders/order/refund.html", context)

    def packing_slip_view(self, request, object_id: str):
        """A printable page to put in the box: ship-to address and the pairs."""
        order = self.get_object(request, object_id)
        if order is None or not self.has_view_permission(request, order):
            return redirect(reverse("admin:orders_order_changelist"))
        context = {"order": order, "lines": order.lines.all(), "phone": order.ship_to.get("phone")}
        return TemplateResponse(request, "admin/orders/order/packing_slip.html", context)

    def ship_view(self, request, object_id: str):
        """Mark a paid order shipped with carrier and tracking number, or
        correct the tracking of a shipped one (audited)."""
        order = self.get_object(request, object_id)
        if order is None or not self.has_ship_permission(request):
            return redirect(reverse("admin:orders_order_changelist"))
        change_url = reverse("admin:orders_order_change", args=[order.pk])
        correcting = order.shipped_at is not None
        form = ShipForm(request.POST or None, order=order)
        if request.method == "POST" and form.is_valid():
            service = order_tracking_correct if correcting else order_ship
            try:
                order = service(
                    order=order,
                    carrier=form.cleaned_data["carrier"],
                    tracking_number=form.cleaned_data["tracking_number"],
                    actor=f"staff:{request.user.pk}",
                )
            except OrdersError as error:
                form.add_error(None, str(error))
            else:
                done = "Tracking corrected" if correcting else "Marked shipped"
                self.message_user(
                    request,
                    f"{done}: order {order.number}, {order.carrier_name} {order.tracking_number}.",
                    messages.SUCCESS,
                )
                return redirect(change_url)
        verb = "Correct tracking of" if correcting else "Ship"
        context = {
            **self.admin_site.each_context(request),
            "title": f"{verb} order {order.number}",
            "rows": [(order, form)],
            "opts": self.model._meta,
            "original": order,
            "correcting": correcting,
        }
        return TemplateResponse(request, self.ship_template, context)

    def _apply(self, request, queryset, service, done: str) -> None:
        ok = 0
        for order in queryset:
            try:
                service(order=order, actor=f"staff:{request.user.pk}")
                ok += 1
            except OrdersError as error:
                self.message_user(request, str(error), messages.ERROR)
        if ok:
            self.message_user(request, f"{ok} order(s) {done}.", messages.SUCCESS)

    @admin.action(description="Mark selected orders shipped…", permissions=["ship"])
    def mark_shipped(self, request, queryset):
        """An intermediate page asks for each order's carrier and tracking
        number; orders whose details are valid ship, the others are asked again."""
        orders = list(queryset)
        rows = [
            (
                order,
                ShipForm(
                    request.POST if "ship" in request.POST else None,
                    order=order,
                    prefix=f"ship-{order.pk}",
                ),
            )
            for order in orders
        ]
        if "ship" in request.POST:
            pending = []
            shipped = 0
            for order, form in rows:
                if form.is_valid():
                    try:
                        order_ship(
                            order=order,
                            carrier=form.cleaned_data["carrier"],
                            tracking_number=form.cleaned_data["tracking_number"],
                            actor=f"staff:{request.user.pk}",
                        )
                    except OrdersError as error:
                        form.add_error(None, str(error))
                    else:
                        shipped += 1
                        continue
                pending.append((order, form))
            if shipped:
                self.message_user(request, f"{shipped} order(s) marked shipped.", messages.SUCCESS)
            if not pending:
                return None
            rows = pending
        context = {
            **self.admin_site.each_context(request),
            "title": "Ship orders",
            "rows": rows,
            "opts": self.model._meta,
            "bulk": True,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, self.ship_template, context)

    @admin.action(
        description="Cancel selected unpaid orders (release stock)", permissions=["cancel"]
    )
    def cancel(self, request, queryset):
        self._apply(request, queryset, order_cancel, "canceled")

    @admin.action(
        description="Refund selected paid orders in full (what is left)", permissions=["refund"]
    )
    def refund_in_full(self, request, queryset):
        ok = 0
        limit = refund_limit_for(request.user)
        for order in queryset:
            if limit is not None and order.refundable_amount > limit:
                self.message_user(
                    request,
                    f"{order.number}: more than you may refund at once; "
                    f"it needs the permission {REFUND_ANY_AMOUNT}.",
                    messages.ERROR,
                )
                continue
            try:
                order_refund(order=order, amount=None, actor=f"staff:{request.user.pk}")
                ok += 1
            except (OrdersError, PaymentsError) as error:
                self.message_user(request, f"{order.number}: {error}", messages.ERROR)
        if ok:
            self.message_user(request, f"{ok} order(s) refunded.", messages.SUCCESS)


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    list_display = ["order", "variant", "quantity", "status", "expires_at", "release_reason"]
    list_filter = ["status"]
    search_fields = ["order__number"]
    readonly_fields = [f.name for f in Reservation._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "full_name", "city", "country"]
    search_fields = ["user__email", "full_name"]
    raw_id_fields = ["user"]
