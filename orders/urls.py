from django.urls import path

from orders import views
from rdk.pagecache import private_page
from rdk.ratelimits import rate_limit

app_name = "orders"

# Every page here is a shopper's own (account, cart, checkout, orders): each is
# sent `Cache-Control: private, no-store`, so no shared cache or back button keeps it.

urlpatterns = [
    path(
        "account/login/",
        private_page(rate_limit("signin_ip", "signin_account")(views.LoginView.as_view())),
        name="login",
    ),
    path("account/logout/", private_page(views.LogoutView.as_view()), name="logout"),
    path("account/signup/", private_page(views.signup), name="signup"),
    path("account/", private_page(views.profile), name="profile"),
    path(
        "account/password-reset/",
        private_page(
            rate_limit("password_reset_ip", "password_reset_email")(
                views.PasswordResetView.as_view()
            )
        ),
        name="password_reset",
    ),
    path(
        "account/password-reset/sent/",
        private_page(views.PasswordResetDoneView.as_view()),
        name="password_reset_done",
    ),
    path(
        "account/password-reset/<uidb64>/<token>/",
        private_page(views.PasswordResetConfirmView.as_view()),
        name="password_reset_confirm",
    ),
    path(
        "account/password-reset/done/",
        private_page(views.PasswordResetCompleteView.as_view()),
        name="password_reset_complete",
    ),
    path("account/orders", private_page(views.order_list), name="order_list"),
    path("account/orders/<str:public_id>", private_page(views.order_detail), name="order_detail"),
    path(
        "account/orders/<str:public_id>/cancel",
        private_page(views.order_cancel_view),
        name="order_cancel",
    ),
    path("cart", private_page(views.cart), name="cart"),
    path("cart/add", private_page(views.cart_add_view), name="cart_add"),
    path("cart/update", private_page(views.cart_update_view), name="cart_update"),
    path("cart/remove", private_page(views.cart_remove_view), name="cart_remove"),
    path("account/orders/<str:public_id>/pay", private_page(views.order_pay), name="order_pay"),
    path("checkout", private_page(views.checkout), name="checkout"),
    path("checkout/success", private_page(views.checkout_success), name="checkout_success"),
    path(
        "checkout/cancel/<str:public_id>",
        private_page(views.checkout_cancel),
        name="checkout_cancel",
    ),
]
