from django.contrib import admin

from payments.models import StripeEvent, StripeEventReplay


class StripeEventReplayInline(admin.TabularInline):
    model = StripeEventReplay
    extra = 0
    can_delete = False
    readonly_fields = ["replayed_at", "actor", "outcome", "error", "request_id"]


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ["stripe_id", "type", "status", "attempts", "delivery_count", "received_at"]
    list_filter = ["status", "type", "livemode"]
    search_fields = ["stripe_id", "type"]
    readonly_fields = [field.name for field in StripeEvent._meta.fields]
    inlines = [StripeEventReplayInline]

    def has_add_permission(self, request) -> bool:
        return False

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if request.user.has_perm("payments.view_event_payload"):
            return fields
        return [name for name in fields if name != "payload"]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if request.user.has_perm("payments.view_event_payload"):
            return fields
        return [name for name in fields if name != "payload"]
