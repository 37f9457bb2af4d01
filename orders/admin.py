"""Staff manage orders here; actions delegate to the services. The admin runs
under the service row-security scope (rdk.rls.RowSecurityMiddleware).

Each action needs its own permission (`allowed_permissions`: `ship` is
`orders.ship_order`, and so on; the roles are in opsadmin/permissions.py).
Refunds above `ORDERS_STAFF_REFUND_LIMIT` (minor units) also need
`orders.refund_order_any_amount`."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from orders.exceptions import OrdersError
from orders.models import PAID_STATES, Order, OrderEvent, OrderLine, Profile, Reservation
from orders.services.lifecycle import order_cancel, order_mark_shipped
from orders.services.refunds import order_refund
from payments.exceptions import PaymentsError
from rdk.money import money_text


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label="Amount to refund",
        min_value=0.01,
        decimal_places=2,
        help_text="In the order's currency, e.g. 49.99. At most what is left to refund.",
    )
    confirm = forms.BooleanField(label="Refund this amount to the shopper's card now")

    def __init__(self, *args, order: Order, limit: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.order = order
        self.limit = limit
        self.fields["amount"].initial = f"{order.refundable_amount / 100:.2f}"

    def clean_amount(self) -> int:
        cents = int(self.cleaned_data["amount"] * 100)
        if cents > self.order.refundable_amount:
            left = money_text(self.order.refundable_amount, self.order.currency, symbol=False)
            raise forms.ValidationError(f"At most {left} is left to refund.")
        if self.limit is not None and cents > self.limit:
            most = money_text(self.limit, self.order.currency, symbol=False)
            raise forms.ValidationError(
                f"You may refund at most {most}; more needs the permission {REFUND_ANY_AMOUNT}."
            )
        return cents


REFUND_ANY_AMOUNT = "orders.refund_order_any_amount"


def refund_limit_for(user) -> int | None:
    """The most this user may refund at once (None: no limit)."""
    if user.has_perm(REFUND_ANY_AMOUNT):
        return None
    return settings.ORDERS_STAFF_REFUND_LIMIT


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    readonly_fields = [
        "product_name",
        "size_label",
        "sku",
        "unit_amount",
        "quantity",
        "line_amount",
    ]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    readonly_fields = [
        "created_at",
        "kind",
        "from_status",
        "to_status",
        "actor",
        "note",
        "reference",
        "request_id",
    ]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "email",
        "status",
        "total_amount",
        "refunded_amount",
        "currency",
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
        "subtotal_amount",
        "total_amount",
        "captured_amount",
        "refunded_amount",
        "payment_reference",
        "reserved_until",
        "created_at",
        "paid_at",
        "checkout_attempt",
        "checkout_session_id",
        "checkout_expires_at",
        "disputed_at",
        "dispute_reference",
    ]
    fields = [*readonly_fields, "shipping_address"]
    inlines = [OrderLineInline, OrderEventInline]
    actions = ["mark_shipped", "cancel", "refund_in_full"]
    list_select_related = ["user"]

    change_form_template = "admin/orders/order/change_form.html"
    # Custom views and the permission each needs (opsadmin.permissions.guard).
    url_permissions = {"orders_order_refund": "orders.refund_order"}

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

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
        return [
            path("<path:object_id>/refund/", refund, name="orders_order_refund"),
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

    @admin.action(description="Mark selected orders shipped", permissions=["ship"])
    def mark_shipped(self, request, queryset):
        self._apply(request, queryset, order_mark_shipped, "marked shipped")

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
