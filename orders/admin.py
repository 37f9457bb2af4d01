"""Staff manage orders here; actions delegate to the services. The admin runs
under the service row-security scope (rdk.rls.RowSecurityMiddleware)."""

from django.contrib import admin, messages

from orders.exceptions import OrdersError
from orders.models import Order, OrderEvent, OrderLine, Profile, Reservation
from orders.services.lifecycle import order_cancel, order_mark_fulfilled


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
    readonly_fields = ["created_at", "from_status", "to_status", "actor", "note", "request_id"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "email", "status", "total_amount", "currency", "created_at"]
    list_filter = ["status", "created_at"]
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
    ]
    fields = [*readonly_fields, "shipping_address"]
    inlines = [OrderLineInline, OrderEventInline]
    actions = ["mark_fulfilled", "cancel"]
    list_select_related = ["user"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

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

    @admin.action(description="Mark selected orders fulfilled (shipped)")
    def mark_fulfilled(self, request, queryset):
        self._apply(request, queryset, order_mark_fulfilled, "marked fulfilled")

    @admin.action(description="Cancel selected unpaid orders (release stock)")
    def cancel(self, request, queryset):
        self._apply(request, queryset, order_cancel, "canceled")


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
