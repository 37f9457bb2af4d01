from django.contrib import admin

from opsadmin.models import AuditEntry, BackupCodeDevice


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit log: read-only, filterable by action, actor, outcome and date."""

    list_display = ["at", "actor", "action", "target", "outcome", "ip", "request_id"]
    list_filter = ["action", "outcome", "actor", ("at", admin.DateFieldListFilter)]
    search_fields = ["actor", "target", "request_id", "action"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEntry._meta.fields]
    list_per_page = 100

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BackupCodeDevice)
class BackupCodeDeviceAdmin(admin.ModelAdmin):
    """Backup code sets: hashes only. Delete a set to revoke its codes;
    `manage.py otp_enroll USER` issues new ones."""

    list_display = ["user", "name", "created_at", "last_used_at", "unused_codes"]
    fields = ["user", "name", "confirmed", "created_at", "last_used_at"]
    readonly_fields = ["user", "name", "created_at", "last_used_at"]
    raw_id_fields = ["user"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="unused codes")
    def unused_codes(self, obj) -> int:
        return obj.codes.filter(used_at__isnull=True).count()
