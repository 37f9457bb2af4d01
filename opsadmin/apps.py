from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class OpsadminConfig(AppConfig):
    name = "opsadmin"
    verbose_name = "Operations"
    default_auto_field = "django.db.models.BigAutoField"
    default = True

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out
        from django.db.models.signals import post_migrate

        from opsadmin import integrity, receivers  # noqa: F401 (integrity registers its check)
        from opsadmin.services import roles, sessions
        from rdk.audit import ops_action

        ops_action.connect(receivers.audit_entry_store, dispatch_uid="opsadmin.audit_entry_store")
        user_logged_in.connect(sessions.on_user_logged_in, dispatch_uid="opsadmin.sessions.login")
        # After auth's own receiver has created the permissions (opsadmin is later).
        post_migrate.connect(roles.roles_sync_after_migrate, dispatch_uid="opsadmin.roles_sync")
        user_logged_out.connect(
            sessions.on_user_logged_out, dispatch_uid="opsadmin.sessions.logout"
        )


class RdkAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with RDK's OTP-enforcing site as `admin.site`."""

    default_site = "opsadmin.sites.RdkAdminSite"
    default = False
