"""Shopper pages: account, cart, checkout, orders. Thin: parse, call one service, render."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from catalog.selectors import product_thumbnails
from orders.addresses import address_from_profile
from orders.exceptions import AccountExists, CartChanged, OrdersError
from orders.forms import (
    ProfileForm,
    ShippingAddressForm,
    ShopLoginForm,
    ShopPasswordResetForm,
    SignupForm,
)
from orders.pages import (
    CART_PAGE,
    ORDERS_PAGE,
    cart_changed,
    cart_page_versions,
    orders_page_versions,
)
from orders.selectors import (
    order_emails,
    order_get_for_user,
    order_history_for_user,
    orders_awaiting_payment_for_user,
    profile_get_for_user,
)
from orders.services.accounts import profile_address_save, profile_update, user_signup
from orders.services.cart import (
    CartSummary,
    DbCartStore,
    SessionCartStore,
    cart_add,
    cart_changes_at,
    cart_merge,
    cart_refresh,
    cart_remove,
    cart_store_for,
    cart_tags,
    cart_update,
)
from orders.services.checkout import (
    checkout_abandon,
    checkout_confirm,
    order_place,
    payment_handover,
)
from orders.services.lifecycle import order_cancel
from payments.exceptions import PaymentsError, StripeRejected
from rdk.cachetags import tag_versions
from rdk.csrf import same_origin_required
from rdk.http import AuthenticatedRequest, is_signed_in
from rdk.pagecache import PersonalRender
from rdk.ratelimits import rate_limit
from rdk.rls import rls_request_exempt, rls_scope
from rdk.switches import switch_is_on
from rdk.visitors import has_session


def _merge_after_login(request: HttpRequest, user) -> None:
    with rls_scope(user=user):
        notices = cart_merge(source=SessionCartStore(request.session), target=DbCartStore(user))
    for notice in notices:
        messages.info(request, notice)


# Accounts ---------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    template_name = "orders/login.html"
    authentication_form = ShopLoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        _merge_after_login(self.request, form.get_user())
        return response


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("home")  # type: ignore[assignment]  # Django resolves a lazy URL


@rate_limit("signup_ip")
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("orders:profile")
    if not switch_is_on("feature.signup"):
        return render(request, "orders/signup_closed.html", status=503)
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_signup(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                full_name=form.cleaned_data["full_name"],
            )
        except AccountExists as exc:  # the same sign-up, submitted twice at once
            form.add_error("email", str(exc))
            return render(request, "orders/signup.html", {"form": form})
        login(request, user)
        _merge_after_login(request, user)
        messages.success(request, "Welcome to Real Deal Kickz. Your account is ready.")
        return redirect(request.GET.get("next", "") if _safe_next(request) else "orders:profile")
    return render(request, "orders/signup.html", {"form": form})


def _safe_next(request: HttpRequest, target: str | None = None) -> bool:
    target = request.GET.get("next", "") if target is None else target
    return bool(target) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


def _back(request: HttpRequest) -> str:
    """Where a refused add-to-cart returns: the form's `next` (e.g. the product
    page) when it is on this site, else the cart."""
    target = request.POST.get("next", "")
    return target if _safe_next(request, target) else reverse("orders:cart")


@login_required
def profile(request: AuthenticatedRequest) -> HttpResponse:
    instance = profile_get_for_user(user=request.user)
    form = ProfileForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        profile_update(user=request.user, **{k: form.cleaned_data[k] for k in form.fields})
        messages.success(request, "Profile saved.")
        return redirect("orders:profile")
    return render(request, "orders/profile.html", {"form": form})


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "orders/password_reset.html"
    form_class = ShopPasswordResetForm
    success_url = reverse_lazy("orders:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "orders/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "orders/password_reset_confirm.html"
    success_url = reverse_lazy("orders:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "orders/password_reset_complete.html"


# Cart -------------------------------------------------------------------------


@rls_request_exempt  # read in a scope of its own: for a shopper, on a miss only
def cart(request: HttpRequest) -> HttpResponse:
    """The cart, corrected against stock, prices and holds. A signed-in
    shopper's is kept for them (orders/pages.py) until any of that changes."""
    if not is_signed_in(request):
        if not has_session(request):  # no cart at all, as RowSecurityMiddleware has it
            return _cart_page(request)[1]
        with rls_scope(user=request.user):
            return _cart_page(request)[1]
    versions = cart_page_versions(user=request.user)
    return CART_PAGE.serve(
        request, versions=versions, render=lambda: _cart_render(request, versions)
    )


def _cart_render(request: AuthenticatedRequest, versions: dict[str, object]) -> PersonalRender:
    """On a miss, in the shopper's scope (PersonalPage.serve)."""
    products, tags = cart_tags(user=request.user)
    read = tag_versions(tags)  # before the page reads what they cover
    summary, response = _cart_page(request, checkout_paused=versions["checkout_paused"])
    changes_at = cart_changes_at(summary=summary)
    shown = {line.variant.product_id for line in summary.lines}
    return PersonalRender(
        response,
        tags=read,
        until=changes_at.timestamp() if changes_at else None,
        extra={"cart_count": summary.count},
        # A render that corrected the cart (notices) changed its version.
        storable=not summary.notices and shown <= products,
    )


def _cart_page(
    request: HttpRequest, *, checkout_paused: object = None
) -> tuple[CartSummary, HttpResponse]:
    summary = cart_refresh(store=cart_store_for(request))
    for notice in summary.notices:
        messages.warning(request, notice)
    awaiting = orders_awaiting_payment_for_user(user=request.user)
    thumbnails = product_thumbnails(product_ids=[line.variant.product_id for line in summary.lines])
    lines = [(line, thumbnails.get(line.variant.product_id)) for line in summary.lines]
    # The header's count is the refreshed cart's: no need to read the cached one.
    context = {"summary": summary, "lines": lines, "awaiting": awaiting}
    if request.user.is_authenticated:
        context["cart_count"] = summary.count
    if checkout_paused is not None:  # the state the page is kept under
        context["checkout_paused"] = checkout_paused
    return summary, render(request, "orders/cart.html", context)


@same_origin_required
@rate_limit("cart")
@require_POST
def cart_add_view(request: HttpRequest) -> HttpResponse:
    try:
        message = cart_add(
            store=cart_store_for(request),
            variant_id=request.POST.get("variant"),
            quantity=request.POST.get("quantity") or 1,
        )
    except OrdersError as error:
        messages.error(request, str(error))
        return redirect(_back(request))
    messages.success(request, message)
    return redirect("orders:cart")


@rate_limit("cart")
@require_POST
def cart_update_view(request: HttpRequest) -> HttpResponse:
    try:
        message = cart_update(
            store=cart_store_for(request),
            variant_id=request.POST.get("variant"),
            quantity=request.POST.get("quantity"),
        )
    except OrdersError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, message)
    return redirect("orders:cart")


@rate_limit("cart")
@require_POST
def cart_remove_view(request: HttpRequest) -> HttpResponse:
    try:
        messages.success(
            request,
            cart_remove(store=cart_store_for(request), variant_id=request.POST.get("variant")),
        )
    except OrdersError as error:
        messages.error(request, str(error))
    return redirect("orders:cart")


# Checkout and orders ----------------------------------------------------------


@rls_request_exempt
@require_http_methods(["GET", "POST"])
@rate_limit("checkout")
def checkout(request: HttpRequest) -> HttpResponse:
    """The checkout page: the cart's pairs and the shipping address (prefilled
    from the profile); a valid address places the order and hands over to
    payments. GET shows it (where a shopper lands after signing in to check
    out), as does the cart's "Check out" button. Nothing is reserved or sent to
    Stripe until the address is valid. Own transactions (not the request's):
    the order commits, releasing its row locks, before the shopper is handed to
    payments."""
    if not is_signed_in(request):
        messages.info(request, "Sign in or create an account to check out; your cart is kept.")
        return redirect(f"{reverse('orders:login')}?next={reverse('orders:checkout')}")
    if "line1" not in request.POST:  # from the cart or a sign-in: ask for the address
        with rls_scope(user=request.user):
            profile = profile_get_for_user(user=request.user)
        initial = {**address_from_profile(profile), "save_to_profile": not profile.address_line1}
        return _checkout_page(request, ShippingAddressForm(initial=initial))
    form = ShippingAddressForm(request.POST)
    if not form.is_valid():
        return _checkout_page(request, form, status=400)
    fingerprint = request.POST.get("fingerprint") or ""
    try:
        with rls_scope(user=request.user):
            order = order_place(
                user=request.user,
                store=DbCartStore(request.user),
                ship_to=form.address,
                expected_fingerprint=fingerprint or None,
            )
            if form.cleaned_data["save_to_profile"]:
                profile_address_save(user=request.user, address=form.address)
    except CartChanged as error:
        # What the cart page showed is not what checkout found (its corrections
        # were rolled back with the order): the page is rendered afresh.
        cart_changed(user_pk=request.user.pk)
        messages.warning(request, f"Your cart changed before checkout: {error} Please review it.")
        return redirect("orders:cart")
    except OrdersError as error:
        messages.error(request, str(error))
        return redirect("orders:cart")
    return _pay(request, order, placed=True)


def _checkout_page(request: AuthenticatedRequest, form, status: int = 200) -> HttpResponse:
    """The cart's pairs beside the address form; an empty cart goes back to the
    cart. Rendered inside the scope: the header's cart count reads the cart too."""
    with rls_scope(user=request.user):
        summary = cart_refresh(store=DbCartStore(request.user))
        for notice in summary.notices:
            messages.warning(request, notice)
        if not summary.lines:
            return redirect("orders:cart")
        context = {"form": form, "summary": summary}
        return render(request, "orders/checkout.html", context, status=status)


def _pay(request: HttpRequest, order, *, placed: bool = False) -> HttpResponse:
    """Hand the shopper over to Stripe (`placed`: the order this request just
    placed); on failure the order and its reservation stay as they are and the
    cart page says what happened and offers a retry."""
    try:
        return redirect(payment_handover(order, placed=placed))
    except PaymentsError as error:
        with rls_scope(user=request.user):
            order.refresh_from_db()
        messages.error(
            request,
            f"We could not open the payment page: {error} Order {order.number} is saved and "
            f"your pairs stay reserved until {order.reserved_until:%H:%M} UTC; "
            "press Pay now to try again.",
        )
    except OrdersError as error:
        messages.error(request, str(error))
    return redirect("orders:cart")


@rls_request_exempt
@login_required
@require_POST
@rate_limit("checkout")
def order_pay(request: HttpRequest, public_id: str) -> HttpResponse:
    """Pay a pending order: its open Checkout Session, or a new attempt."""
    with rls_scope(user=request.user):
        order = order_get_for_user(user=request.user, public_id=public_id)
    return _pay(request, order)


_SESSION_ID = re.compile(r"cs_[A-Za-z0-9_]{1,255}")


@rls_request_exempt
@login_required
def checkout_success(request: AuthenticatedRequest) -> HttpResponse:
    """Stripe's success_url: the order as Stripe and RDK see it now (marked paid
    here when Stripe says so, see `checkout_confirm`); until Stripe reports it
    paid, the page says "processing" and reloads itself."""
    session_id = request.GET.get("session_id", "")
    if not _SESSION_ID.fullmatch(session_id):
        return render(request, "orders/checkout_success.html", {"invalid": True}, status=400)
    try:
        confirmation = checkout_confirm(user=request.user, session_id=session_id)
    except StripeRejected:
        raise Http404("No such payment.") from None
    except PaymentsError:
        context: dict[str, Any] = {"order": None, "unconfirmed": True, "refresh": 5}
        return render(request, "orders/checkout_success.html", context)
    context = {
        "order": confirmation.order,
        "paid_at_stripe": confirmation.session.is_paid,
        "session_open": confirmation.session.is_open,
        "refresh": 3 if confirmation.processing else None,
    }
    return render(request, "orders/checkout_success.html", context)


@rls_request_exempt
@login_required
def checkout_cancel(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    """Stripe's cancel_url: the shopper left the payment page (see
    `checkout_abandon`)."""
    try:
        outcome = checkout_abandon(user=request.user, public_id=public_id)
    except OrdersError as error:
        messages.error(request, str(error))
        return redirect("orders:cart")
    order = outcome.order
    if outcome.session_closed:
        return redirect(
            f"{reverse('orders:checkout_success')}?session_id={order.checkout_session_id}"
        )
    if not outcome.canceled:
        return redirect(order.get_absolute_url())
    messages.info(
        request,
        f"Payment canceled: order {order.number} was canceled and your pairs are back "
        "in your cart.",
    )
    return redirect("orders:cart")


@rls_request_exempt  # read in the shopper's scope, on a miss only (PersonalPage)
@login_required
def order_list(request: AuthenticatedRequest) -> HttpResponse:
    """The shopper's orders, kept for them until one changes (orders/pages.py)."""
    versions = orders_page_versions(user=request.user)
    return ORDERS_PAGE.serve(request, versions=versions, render=lambda: _order_list_render(request))


def _order_list_render(request: AuthenticatedRequest) -> PersonalRender:
    """On a miss, in the shopper's scope (PersonalPage.serve)."""
    history = order_history_for_user(user=request.user)
    context = {"orders": history.orders, "abandoned": history.abandoned_count}
    return PersonalRender(render(request, "orders/order_list.html", context))


@login_required
def order_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    order = order_get_for_user(user=request.user, public_id=public_id)
    emails = order_emails(order=order)
    return render(request, "orders/order_detail.html", {"order": order, "emails": emails})


@login_required
@require_POST
def order_cancel_view(request: HttpRequest, public_id: str) -> HttpResponse:
    order = order_get_for_user(user=request.user, public_id=public_id)
    try:
        order_cancel(order=order, actor=f"user:{request.user.pk}", reason="canceled by shopper")
    except OrdersError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Order {order.number} canceled; the pairs are back on sale.")
    return redirect(order.get_absolute_url())
