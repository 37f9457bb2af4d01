from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.template.response import TemplateResponse
from django.urls import reverse

from opsadmin.exceptions import EnrolmentError
from opsadmin.models import AuditEntry, BackupCodeDevice
from opsadmin.services.otp import enrolment_link_issue, signin_limits_clear
from rdk.clientip import client_ip_for_records

User = get_user_model()


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


admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    """Django's user admin, plus the Owner's two staff-access actions."""

    actions = ["issue_enrolment_link", "clear_signin_limits"]
    permission_names = {"manage_staff_access": "opsadmin.manage_staff_access"}

    def has_manage_staff_access_permission(self, request) -> bool:
        return request.user.has_perm("opsadmin.manage_staff_access")

    @admin.action(
        description="Issue an authenticator enrolment link", permissions=["manage_staff_access"]
    )
    def issue_enrolment_link(self, request, queryset):
        links = []
        for user in queryset:
            try:
                token, link = enrolment_link_issue(
                    user=user,
                    actor=request.user.get_username(),
                    ip=client_ip_for_records(request) or "",
                )
            except EnrolmentError as error:
                self.message_user(request, str(error), messages.ERROR)
                continue
            path = reverse("admin:otp_enrol_link", kwargs={"token": token})
            links.append((user, f"{settings.SITE_URL}{path}", link.expires_at))
        if not links:
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Enrolment links",
            "links": links,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "opsadmin/enrolment_links.html", context)

    @admin.action(
        description="Clear sign-in limits (locked-out accounts)",
        permissions=["manage_staff_access"],
    )
    def clear_signin_limits(self, request, queryset):
        for user in queryset:
            cleared = signin_limits_clear(
                user=user,
                actor=request.user.get_username(),
                ip=client_ip_for_records(request) or "",
            )
            self.message_user(
                request,
                f"{user.get_username()}: sign-in limits cleared ({cleared} counter(s)); "
                "they may try again now.",
                messages.SUCCESS,
            )
