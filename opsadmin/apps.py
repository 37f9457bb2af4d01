from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class OpsadminConfig(AppConfig):
    name = "opsadmin"
    verbose_name = "Operations"
    default_auto_field = "django.db.models.BigAutoField"
    default = True

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_in, user_logged_out
        from django.db.models.signals import post_delete, post_migrate, post_save, pre_save

        from opsadmin import integrity, receivers  # noqa: F401 (integrity registers its check)
        from opsadmin.services import roles, sessions
        from rdk.audit import ops_action
        from rdk.slowlog import slow_request

        ops_action.connect(receivers.audit_entry_store, dispatch_uid="opsadmin.audit_entry_store")
        slow_request.connect(receivers.slow_request_store, dispatch_uid="opsadmin.slow_request")
        user_logged_in.connect(sessions.on_user_logged_in, dispatch_uid="opsadmin.sessions.login")
        # After auth's own receiver has created the permissions (opsadmin is later).
        post_migrate.connect(roles.roles_sync_after_migrate, dispatch_uid="opsadmin.roles_sync")
        user_logged_out.connect(
            sessions.on_user_logged_out, dispatch_uid="opsadmin.sessions.logout"
        )
        user = get_user_model()
        pre_save.connect(sessions.on_user_pre_save, sender=user, dispatch_uid="opsadmin.pw.pre")
        post_save.connect(sessions.on_user_post_save, sender=user, dispatch_uid="opsadmin.pw.post")
        post_save.connect(sessions.user_row_forget, sender=user, dispatch_uid="opsadmin.row.save")
        post_delete.connect(sessions.user_row_forget, sender=user, dispatch_uid="opsadmin.row.del")


class RdkAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with RDK's OTP-enforcing site as `admin.site`."""

    default_site = "opsadmin.sites.RdkAdminSite"
    default = False
