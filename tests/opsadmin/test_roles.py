"""Staff roles: every admin and ops URL, and every admin action, walked for
every role. The URLs and actions come from the URLconf and the admin
registry, so a page or action added without a permission fails here."""

from __future__ import annotations

import uuid

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import reverse

from opsadmin.models import AuditEntry
from opsadmin.permissions import OPS_PAGES, ROLES, action_permissions, required_permissions
from rdk.rls import rls_service_scope
from tests.opsadmin.test_admin_urls import SAMPLES, _names
from tests.staff import Staff, verified_login

pytestmark = pytest.mark.django_db

# Doors in and out, not pages: sign-in, enrolment (tests/opsadmin/test_enrolment.py),
# and sign-out (which would end the walking session).
NOT_WALKED = {"login", "logout", "otp_enrol", "otp_enrol_link"}

# What each role may do, written out independently of opsadmin/permissions.py:
# (URL name, method) pairs each role is allowed; everything else in this
# table is refused to it.
SPOT_CHECKS = {
    ("ops_switches", "post"): {"Operations", "Owner"},
    ("ops_sessions", "post"): {"Operations", "Owner"},
    ("ops_snapshots", "post"): {"Operations", "Owner"},
    ("ops_webhooks_replay_failed", "post"): {"Operations", "Owner"},
    ("ops_cache", "post"): {"Catalog", "Operations", "Owner"},
    ("ops_incidents", "get"): {"Support", "Operations", "Owner"},
    ("ops_home", "get"): {"Support", "Operations", "Owner"},
    ("orders_order_changelist", "get"): {"Support", "Fulfilment", "Operations", "Owner"},
    ("orders_order_refund", "get"): {"Support", "Owner"},
    ("catalog_product_changelist", "get"): {"Catalog", "Owner"},
    ("auth_user_changelist", "get"): {"Support", "Owner"},
    ("auth_group_changelist", "get"): {"Owner"},
}
ACTION_SPOT_CHECKS = {
    ("orders.Order", "mark_shipped"): {"Fulfilment", "Owner"},
    ("orders.Order", "cancel"): {"Support", "Owner"},
    ("orders.Order", "refund_in_full"): {"Support", "Owner"},
    ("auth.User", "issue_enrolment_link"): {"Owner"},
    ("auth.User", "clear_signin_limits"): {"Owner"},
}
WALKERS = [*ROLES, "no role", "superuser"]
SPOT_POSTS = {name for name, method in SPOT_CHECKS if method == "post"}


def _staff_urls() -> list[tuple[str, str]]:
    urls = []
    for name, params in _names(admin.site.get_urls()):
        if name in NOT_WALKED:
            continue
        urls.append(
            (name, reverse(f"admin:{name}", kwargs={p: SAMPLES.get(p, "1") for p in params}))
        )
    return sorted(set(urls))


@pytest.fixture
def walkers() -> dict[str, Staff]:
    people = {}
    for who in WALKERS:
        staff = Staff(who.lower().replace(" ", "-"))
        if who != "superuser":
            staff.user.is_superuser = False
            staff.user.save(update_fields=["is_superuser"])
        if who in ROLES:
            staff.user.groups.add(Group.objects.get(name=who))
        people[who] = staff
    return people


def _client(staff: Staff) -> Client:
    client = Client()
    verified_login(client, staff)
    return client


def test_every_staff_url_has_a_permission_decided():
    undecided = [
        (name, method)
        for name, _url in _staff_urls()
        for method in ("GET", "POST")
        if required_permissions(admin.site, name, method) is None
    ]
    assert undecided == [], "add these pages to opsadmin.permissions.OPS_PAGES"


def test_every_admin_action_names_its_permissions():
    missing = []
    for model, model_admin in admin.site._registry.items():
        for action in model_admin._get_base_actions():
            if not getattr(action.func, "allowed_permissions", ()):
                missing.append(f"{model._meta.label}.{action.name}")
    assert missing == [], "give these admin actions allowed_permissions"


def test_roles_are_groups_of_real_permissions_and_staff_roles_is_idempotent(capsys):
    call_command("staff_roles")
    call_command("staff_roles")
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)
    support = Group.objects.get(name="Support")
    assert {f"{p.content_type.app_label}.{p.codename}" for p in support.permissions.all()} == set(
        ROLES["Support"]
    )
    assert "5 staff roles are up to date." in capsys.readouterr().out


def test_role_matrix_over_every_url_and_method(walkers):
    """Allowed means anything but 403 (200, a redirect, a 400 for the empty
    form, a 404 for the sample id); refused means the 403 page naming the
    missing permission, and an audit entry."""
    clients = {who: _client(staff) for who, staff in walkers.items()}
    seen: dict[tuple[str, str], set[str]] = {}
    wrong = []
    for name, url in _staff_urls():
        # POST is walked where it needs something else than GET (an ops action,
        # saving a change); elsewhere the guard asks the same of both.
        differs = required_permissions(admin.site, name, "POST") != required_permissions(
            admin.site, name, "GET"
        )
        for method in ("get", "post") if differs or name in SPOT_POSTS else ("get",):
            closed_to_all = None
            for who in ["superuser", *[w for w in WALKERS if w != "superuser"]]:
                user = walkers[who].user
                refusals_before = AuditEntry.objects.filter(action="staff.refused").count()
                response = getattr(clients[who], method)(url)
                status = response.status_code
                assert status < 500, (who, method, url, status)
                if who == "superuser":
                    closed_to_all = status == 403
                needed = required_permissions(admin.site, name, method.upper())
                may = who == "superuser" or not needed or any(user.has_perm(p) for p in needed)
                expect_refused = closed_to_all or not may
                if (status == 403) != expect_refused:
                    wrong.append((who, method, url, status))
                    continue
                if status == 403:
                    body = response.content.decode()
                    assert any(p in body for p in (needed or ("",))), (who, url)
                    assert (
                        AuditEntry.objects.filter(action="staff.refused").count()
                        == refusals_before + 1
                    ), (who, url)
                else:
                    seen.setdefault((name, method), set()).add(who)
    assert wrong == []
    for (name, method), allowed in SPOT_CHECKS.items():
        assert seen.get((name, method), set()) & set(ROLES) == allowed, (name, method)


def test_role_matrix_over_every_admin_action(walkers):
    factory = RequestFactory()
    clients = {who: _client(staff) for who, staff in walkers.items()}
    offered: dict[tuple[str, str], set[str]] = {}
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        for action in model_admin._get_base_actions():
            needed = action_permissions(model_admin, action.name)
            assert needed, f"{opts.label}.{action.name} names no permission"
            for who, staff in walkers.items():
                request = factory.get(changelist)
                request.user = staff.user
                available = action.name in model_admin.get_actions(request)
                response = clients[who].post(
                    changelist, {"action": action.name, "_selected_action": ["999999"]}
                )
                if available:
                    offered.setdefault((opts.label, action.name), set()).add(who)
                    assert response.status_code != 403, (who, opts.label, action.name)
                else:
                    assert response.status_code == 403, (who, opts.label, action.name)
                if who != "superuser" and not all(staff.user.has_perm(p) for p in needed):
                    assert not available, (who, opts.label, action.name)
    for key, allowed in ACTION_SPOT_CHECKS.items():
        assert offered.get(key, set()) & set(ROLES) == allowed, key


def _paid_order():
    # make_user, not the orders UserFactory: its cached password hash would be
    # made with this folder's fast test hasher and fail every later shop sign-in.
    from orders.services.lifecycle import order_mark_paid
    from tests.catalog.factories import ProductFactory
    from tests.orders.factories import order_for
    from tests.staff import make_user

    shopper = make_user(f"shopper-{uuid.uuid4().hex[:8]}", staff=False)
    order = order_for(shopper, ProductFactory(with_sizes=1).variants.first())
    with rls_service_scope():
        return order_mark_paid(
            order=order, payment_reference="pi_roles", amount=order.total_amount, actor="test"
        )


def test_a_refused_action_changes_nothing(walkers):
    order = _paid_order()
    response = _client(walkers["Support"]).post(
        reverse("admin:orders_order_changelist"),
        {"action": "mark_shipped", "_selected_action": [order.pk]},
    )
    assert response.status_code == 403
    assert b"orders.ship_order" in response.content
    with rls_service_scope():
        order.refresh_from_db()
    assert order.status == "paid"
    entry = AuditEntry.objects.filter(action="staff.refused").latest("id")
    assert entry.actor == "support"
    assert entry.details["missing"] == ["orders.ship_order"]


def test_stripe_payloads_need_their_own_permission(walkers):
    from payments.models import StripeEvent

    event = StripeEvent.objects.create(
        stripe_id="evt_payload_1",
        type="checkout.session.completed",
        payload={"data": {"object": {"customer_details": {"email": "shopper@example.com"}}}},
    )
    url = reverse("admin:ops_webhook_detail", args=[event.stripe_id])
    operations = _client(walkers["Operations"]).get(url)
    assert operations.status_code == 200
    assert b"shopper@example.com" not in operations.content
    assert b"payments.view_event_payload" in operations.content
    owner = _client(walkers["Owner"]).get(url)
    assert b"shopper@example.com" in owner.content
    change = reverse("admin:payments_stripeevent_change", args=[event.pk])
    assert b"shopper@example.com" not in _client(walkers["Operations"]).get(change).content
    assert b"shopper@example.com" in _client(walkers["Owner"]).get(change).content


def test_the_ops_console_lists_only_the_pages_a_role_may_open(walkers):
    index = _client(walkers["Catalog"]).get(reverse("admin:index"))
    assert reverse("admin:ops_cache").encode() in index.content
    assert reverse("admin:ops_switches").encode() not in index.content
    assert set(OPS_PAGES) >= {"ops_home", "ops_switches", "ops_webhooks"}


def test_a_console_page_nobody_decided_is_listed_for_superusers_only(walkers, monkeypatch):
    monkeypatch.delitem(OPS_PAGES, "ops_cache")  # as if a new page forgot its row
    operations = _client(walkers["Operations"]).get(reverse("admin:index"))
    assert operations.status_code == 200
    assert reverse("admin:ops_cache").encode() not in operations.content
    assert reverse("admin:ops_switches").encode() in operations.content
    superuser = _client(walkers["superuser"]).get(reverse("admin:index"))
    assert reverse("admin:ops_cache").encode() in superuser.content


def test_support_refunds_only_up_to_the_limit(walkers, settings):
    settings.ORDERS_STAFF_REFUND_LIMIT = 10_00
    order = _paid_order()
    assert order.refundable_amount > 10_00
    url = reverse("admin:orders_order_refund", args=[order.pk])
    response = _client(walkers["Support"]).post(url, {"amount": "50.00", "confirm": "on"})
    assert response.status_code == 200
    assert b"orders.refund_order_any_amount" in response.content
    with rls_service_scope():
        order.refresh_from_db()
    assert order.refunded_amount == 0
