"""Who may open which staff page: the one place the admin and the ops console
decide it.

Being staff (and OTP-verified) only opens the door of the admin site; every
page behind it asks for a real Django permission, held through a role (a
group, see `ROLES` and `opsadmin.services.roles`) or, for superusers, all of
them. `RdkAdminSite.admin_view` wraps every admin and ops URL with `guard`,
which looks up what the URL needs (`required_permissions`):

- an ops-console page: its row in `OPS_PAGES`, by URL name: one permission
  to look (GET, HEAD) and one to act (POST);
- a model admin page: the model's view-or-change, add or delete permission,
  and a custom view of a ModelAdmin the permission it names in its
  `url_permissions` ({url name: permission}; `LIBRARY_VIEWS` for the
  ModelAdmins of Django and django-otp);
- an admin action posted to a changelist: the permissions its
  `allowed_permissions` name (`("ship",)` on orders.Order is
  `orders.ship_order`; a ModelAdmin's `permission_names` maps a name that
  does not follow that pattern to the real permission);
- a site page open to every verified staff member: `OPEN_TO_STAFF`.

A URL none of these name is refused to everyone but superusers, so a page
cannot be added without deciding who may use it (the role matrix test walks
every URL and fails on it). A refusal is a 403 page naming the missing
permission, and an audit entry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django_ratelimit.exceptions import Ratelimited

from rdk.audit import audit_record
from rdk.clientip import client_ip_for_records

logger = logging.getLogger(__name__)

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Page:
    """An ops-console page: `view` to look at it, `act` to post to it."""

    view: str
    act: str | None = None

    def for_method(self, method: str | None) -> str:
        return self.view if method in SAFE_METHODS or self.act is None else self.act


# Ops-console pages by admin URL name. A new page adds its row here.
OPS_PAGES: dict[str, Page] = {
    "ops_home": Page("opsadmin.view_ops_console"),
    "ops_switches": Page("opsadmin.view_switches", "opsadmin.change_switches"),
    "ops_sessions": Page("opsadmin.view_sessions", "opsadmin.rotate_sessions"),
    "ops_incidents": Page("opsadmin.view_incidents"),
    "ops_incident_new": Page("opsadmin.change_incidents", "opsadmin.change_incidents"),
    "ops_incident_detail": Page("opsadmin.view_incidents", "opsadmin.change_incidents"),
    "ops_snapshots": Page("opsadmin.view_snapshots", "opsadmin.take_snapshots"),
    "ops_cache": Page("opsadmin.view_cache", "opsadmin.revalidate_cache"),
    "ops_jobs": Page("opsadmin.view_jobs", "opsadmin.run_jobs"),
    "ops_outbox": Page("opsadmin.view_outbox"),
    "ops_outbox_detail": Page("opsadmin.view_outbox"),
    "ops_outbox_html": Page("opsadmin.view_outbox"),
    "ops_webhooks": Page("opsadmin.view_webhooks"),
    "ops_webhook_detail": Page("opsadmin.view_webhooks"),
    "ops_webhook_replay": Page("opsadmin.replay_webhooks", "opsadmin.replay_webhooks"),
    "ops_webhooks_replay_failed": Page("opsadmin.replay_webhooks", "opsadmin.replay_webhooks"),
    "ops_webhook_mark_handled": Page("opsadmin.replay_webhooks", "opsadmin.replay_webhooks"),
    "ops_slow_queries": Page("opsadmin.view_slow_queries"),
}

# Reading a Stripe event's raw payload (shoppers' names, emails, addresses).
STRIPE_PAYLOAD = "payments.view_event_payload"

# Site pages every verified staff member may open: the index (which lists only
# what their permissions allow), their own password and sign-out.
OPEN_TO_STAFF = frozenset(
    {
        "index",
        "logout",
        "password_change",
        "password_change_done",
        "jsi18n",
        "app_list",
        "view_on_site",
        "autocomplete",
    }
)

# Custom views of ModelAdmins RDK does not write (Django's user admin,
# django-otp's device admin), by URL name. The TOTP device pages show its secret.
LIBRARY_VIEWS: dict[str, str] = {
    "auth_user_password_change": "auth.change_user",
    "otp_totp_totpdevice_config": "otp_totp.change_totpdevice",
    "otp_totp_totpdevice_qrcode": "otp_totp.change_totpdevice",
}

_MODEL_PAGES = {
    "changelist": ("view", "change"),
    "change": ("view", "change"),
    "history": ("view", "change"),
    "add": ("add",),
    "delete": ("delete",),
}


# Roles --------------------------------------------------------------------------

# Each role is a group holding exactly these permissions; `Owner` holds every
# permission there is. `opsadmin.services.roles.roles_sync` writes them.
OWNER = "Owner"
ROLES: dict[str, tuple[str, ...]] = {
    "Support": (
        "orders.view_order",
        "orders.view_profile",
        "orders.cancel_order",
        "orders.refund_order",
        "auth.view_user",
        "opsadmin.view_ops_console",
        "opsadmin.view_incidents",
        "opsadmin.view_outbox",
    ),
    "Fulfilment": (
        "orders.view_order",
        "orders.ship_order",
        "orders.view_reservation",
    ),
    "Catalog": (
        "catalog.view_brand",
        "catalog.add_brand",
        "catalog.change_brand",
        "catalog.view_product",
        "catalog.add_product",
        "catalog.change_product",
        "catalog.view_variant",
        "catalog.add_variant",
        "catalog.change_variant",
        "catalog.view_productimage",
        "catalog.add_productimage",
        "catalog.change_productimage",
        "catalog.delete_productimage",
        "opsadmin.view_cache",
        "opsadmin.revalidate_cache",
    ),
    "Operations": (
        "opsadmin.view_ops_console",
        "opsadmin.view_switches",
        "opsadmin.change_switches",
        "opsadmin.view_sessions",
        "opsadmin.rotate_sessions",
        "opsadmin.view_incidents",
        "opsadmin.change_incidents",
        "opsadmin.view_snapshots",
        "opsadmin.take_snapshots",
        "opsadmin.view_cache",
        "opsadmin.revalidate_cache",
        "opsadmin.view_webhooks",
        "opsadmin.replay_webhooks",
        "opsadmin.view_jobs",
        "opsadmin.run_jobs",
        "opsadmin.view_outbox",
        "opsadmin.view_slow_queries",
        "opsadmin.view_auditentry",
        "payments.view_stripeevent",
        "orders.view_order",
    ),
    OWNER: (),  # every permission
}


# Deciding -----------------------------------------------------------------------


def _model_admin_for(site, url_name: str):
    for model, model_admin in site._registry.items():
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        if url_name.startswith(prefix):
            return model_admin, url_name.removeprefix(prefix)
    return None, ""


def required_permissions(site, url_name: str | None, method: str | None) -> tuple[str, ...] | None:
    """Any one of these permissions opens the URL; () means every verified staff
    member may; None means nobody decided (refused to all but superusers)."""
    if url_name in OPEN_TO_STAFF:
        return ()
    if url_name in OPS_PAGES:
        return (OPS_PAGES[url_name].for_method(method),)
    if url_name in LIBRARY_VIEWS:
        return (LIBRARY_VIEWS[url_name],)
    model_admin, page = _model_admin_for(site, url_name or "")
    if model_admin is None:
        return None
    opts = model_admin.model._meta
    custom = getattr(model_admin, "url_permissions", {})
    if url_name in custom:
        return (custom[url_name],)
    if page in _MODEL_PAGES:
        actions = _MODEL_PAGES[page]
        if page in ("change",) and method not in SAFE_METHODS:
            actions = ("change",)
        return tuple(f"{opts.app_label}.{action}_{opts.model_name}" for action in actions)
    return None


def action_permissions(model_admin, action_name: str) -> tuple[str, ...] | None:
    """The permissions an admin action needs (all of them), or None for no such action."""
    for action in model_admin._get_base_actions():
        func, name = action.func, action.name
        if name == action_name:
            opts = model_admin.model._meta
            names = getattr(model_admin, "permission_names", {})
            return tuple(
                names.get(perm, f"{opts.app_label}.{perm}_{opts.model_name}")
                for perm in getattr(func, "allowed_permissions", ())
            )
    return None


def _refused_action(site, request: HttpRequest, url_name: str) -> tuple[str, ...] | None:
    """For a POSTed admin action the user may not run: the permissions it needs."""
    action = request.POST.get("action")
    if not action or not url_name.endswith("_changelist"):
        return None
    model_admin, _page = _model_admin_for(site, url_name)
    if model_admin is None:
        return None
    needed = action_permissions(model_admin, action)
    if needed is None or action in model_admin.get_actions(request):
        return None
    return needed or (f"{model_admin.model._meta.app_label}.{action}",)


def permission_label(name: str) -> str:
    """`orders.ship_order` → its description, for the 403 page."""
    app_label, _, codename = name.partition(".")
    found = (
        Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        .values_list("name", flat=True)
        .first()
    )
    return found or name


def refuse(request: HttpRequest, missing: tuple[str, ...]) -> HttpResponse:
    """The 403 page naming what is missing, and an audit entry."""
    user = request.user
    audit_record(
        action="staff.refused",
        actor=user.get_username(),
        target=request.path[:255],
        outcome="refused",
        ip=client_ip_for_records(request) or "",
        method=request.method,
        missing=list(missing),
    )
    context: dict[str, Any] = {
        "title": "Not allowed",
        "missing": [(name, permission_label(name)) for name in missing],
        "roles": sorted(
            role for role, perms in ROLES.items() if role == OWNER or set(missing) & set(perms)
        ),
    }
    # The site's header without its app list: a refusal stays cheap to answer.
    site = admin.site
    context = {
        "site_title": site.site_title,
        "site_header": site.site_header,
        "site_url": site.site_url,
        "has_permission": True,
        "available_apps": [],
        "is_popup": False,
        "is_nav_sidebar_enabled": False,
        **context,
    }
    return TemplateResponse(request, "opsadmin/forbidden.html", context, status=403)


def guard(view: Callable[..., HttpResponse], *, site) -> Callable[..., HttpResponse]:
    """Wrap an admin view: refuse unless the user holds what its URL needs."""

    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        match = request.resolver_match
        url_name = match.url_name if match is not None else None
        user = request.user
        if not user.is_superuser:
            needed = required_permissions(site, url_name, request.method)
            if needed is None:
                logger.error("staff.page_without_permission", extra={"url_name": url_name})
                return refuse(request, (f"a permission for {url_name}",))
            if needed and not any(user.has_perm(name) for name in needed):
                return refuse(request, needed)
        if request.method == "POST":
            refused_action = _refused_action(site, request, url_name or "")
            if refused_action is not None:
                return refuse(request, refused_action)
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as refused:
            if isinstance(refused, Ratelimited):
                raise
            # The page itself said no (a ModelAdmin closed to everyone, e.g.
            # adding an order): the same 403 page and audit entry.
            return refuse(request, needed_or_closed(site, url_name, request.method))

    return guarded


def needed_or_closed(site, url_name: str | None, method: str | None) -> tuple[str, ...]:
    needed = required_permissions(site, url_name, method)
    return needed or ("none: this page is closed to every account",)
