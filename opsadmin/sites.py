"""RDK's admin site: Django's admin behind a password *and* a verified OTP
device, with the ops console's pages mounted inside it.

`opsadmin.apps.RdkAdminConfig` makes this the default `admin.site`, so every
app's `admin.site.register(...)` lands here. `has_permission` is what
`admin_view` checks on every admin and ops URL: an active staff user whose
session was verified by a confirmed device. A staff user who signed in through
the shop is therefore sent to this site's login, which asks for a code.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import path, reverse
from django_otp.admin import OTPAdminSite

from opsadmin import permissions


class RdkAdminSite(OTPAdminSite):
    site_header = "Real Deal Kickz · staff"
    site_title = "RDK staff"
    index_title = "Admin and ops console"
    enable_nav_sidebar = True

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)

    def has_permission(self, request) -> bool:
        user = request.user
        is_verified = getattr(user, "is_verified", None)
        return bool(user.is_active and user.is_staff and is_verified is not None and is_verified())

    def admin_view(self, view, cacheable=False):
        """Every admin and ops URL: OTP-verified staff (Django's gate), then the
        permission its URL needs (opsadmin.permissions)."""
        return super().admin_view(permissions.guard(view, site=self), cacheable)

    def login(self, request, extra_context=None):
        from opsadmin.views.auth import admin_login

        return admin_login(request, site=self)

    def get_urls(self):
        from opsadmin.views import (
            auth,
            cache,
            home,
            incidents,
            jobs_page,
            outbox,
            sessions,
            slowqueries,
            snapshots,
            switches,
            webhooks,
        )

        wrap = self.admin_view
        ops = [
            path("enrol/", auth.enrol, {"site": self}, name="otp_enrol"),
            path(
                "enrol/<str:token>/",
                auth.enrol_link,
                {"site": self},
                name="otp_enrol_link",
            ),
            path("ops/", wrap(home.ops_home), name="ops_home"),
            path("ops/switches/", wrap(switches.switch_list), name="ops_switches"),
            path("ops/sessions/", wrap(sessions.session_list), name="ops_sessions"),
            path("ops/incidents/", wrap(incidents.incident_list), name="ops_incidents"),
            path("ops/incidents/new/", wrap(incidents.incident_new), name="ops_incident_new"),
            path(
                "ops/incidents/<uuid:public_id>/",
                wrap(incidents.incident_detail),
                name="ops_incident_detail",
            ),
            path("ops/snapshots/", wrap(snapshots.snapshot_list), name="ops_snapshots"),
            path("ops/cache/", wrap(cache.cache_page), name="ops_cache"),
            path("ops/jobs/", wrap(jobs_page.job_page), name="ops_jobs"),
            path("ops/outbox/", wrap(outbox.outbox_list), name="ops_outbox"),
            path(
                "ops/outbox/<uuid:public_id>/",
                wrap(outbox.outbox_detail),
                name="ops_outbox_detail",
            ),
            path(
                "ops/outbox/<uuid:public_id>/html",
                wrap(outbox.outbox_html),
                name="ops_outbox_html",
            ),
            path("ops/slow-queries/", wrap(slowqueries.slow_queries), name="ops_slow_queries"),
            path("ops/webhooks/", wrap(webhooks.webhook_list), name="ops_webhooks"),
            path(
                "ops/webhooks/replay-failed/",
                wrap(webhooks.webhook_replay_failed),
                name="ops_webhooks_replay_failed",
            ),
            path(
                "ops/webhooks/<str:stripe_id>/",
                wrap(webhooks.webhook_detail),
                name="ops_webhook_detail",
            ),
            path(
                "ops/webhooks/<str:stripe_id>/handled/",
                wrap(webhooks.webhook_mark_handled),
                name="ops_webhook_mark_handled",
            ),
            path(
                "ops/webhooks/<str:stripe_id>/replay/",
                wrap(webhooks.webhook_replay),
                name="ops_webhook_replay",
            ),
        ]
        return ops + super().get_urls()

    def get_app_list(self, request, app_label=None):
        app_list = super().get_app_list(request, app_label)
        if app_label is None and self.has_permission(request):
            ops = self._ops_app(request)
            if ops["models"]:
                app_list.insert(0, ops)
        return app_list

    def _ops_app(self, request) -> dict:
        pages = [
            ("Daily checklist", "OpsHome", "admin:ops_home"),
            ("Incidents", "Incidents", "admin:ops_incidents"),
            ("Stripe webhooks", "Webhooks", "admin:ops_webhooks"),
            ("Switches and maintenance", "Switches", "admin:ops_switches"),
            ("Sessions", "Sessions", "admin:ops_sessions"),
            ("Snapshots", "Snapshots", "admin:ops_snapshots"),
            ("Jobs", "Jobs", "admin:ops_jobs"),
            ("Cache", "Cache", "admin:ops_cache"),
            ("Slow queries", "SlowQueries", "admin:ops_slow_queries"),
        ]
        if settings.EMAIL_OUTBOX_PAGE:
            pages.append(("Outbox", "Outbox", "admin:ops_outbox"))
        return {
            "name": "Ops console",
            "app_label": "ops",
            "app_url": reverse("admin:ops_home", current_app=self.name),
            "has_module_perms": True,
            "models": [
                {
                    "name": name,
                    "object_name": object_name,
                    "admin_url": reverse(url, current_app=self.name),
                    "add_url": None,
                    "view_only": True,
                    "perms": {"view": True},
                    # /admin/ops/ starts every ops page's path: the home is the
                    # current page on its own URL only (templates/admin/app_list.html).
                    "exact_match": url == "admin:ops_home",
                }
                for name, object_name, url in pages
                if _may_view(request.user, url.removeprefix("admin:"))
            ],
        }


def _may_view(user, url_name: str) -> bool:
    """A sidebar link for a page its row in OPS_PAGES lets `user` open; a page
    with no row opens for superusers only (opsadmin.permissions), so it is
    listed for them alone instead of breaking the index for everyone else."""
    page = permissions.OPS_PAGES.get(url_name)
    return user.is_superuser if page is None else user.has_perm(page.view)
