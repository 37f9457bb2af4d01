from django.urls import path

from orders import views
from rdk.ratelimits import rate_limit

app_name = "orders"

urlpatterns = [
    path(
        "account/login/",
        rate_limit("signin_ip", "signin_account")(views.LoginView.as_view()),
        name="login",
    ),
    path("account/logout/", views.LogoutView.as_view(), name="logout"),
    path("account/signup/", views.signup, name="signup"),
    path("account/", views.profile, name="profile"),
    path(
        "account/password-reset/",
        rate_limit("password_reset_ip", "password_reset_email")(views.PasswordResetView.as_view()),
        name="password_reset",
    ),
    path(
        "account/password-reset/sent/",
        views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "account/password-reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "account/password-reset/done/",
        views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("account/orders", views.order_list, name="order_list"),
    path("account/orders/<str:public_id>", views.order_detail, name="order_detail"),
    path("account/orders/<str:public_id>/cancel", views.order_cancel_view, name="order_cancel"),
    path("cart", views.cart, name="cart"),
    path("cart/add", views.cart_add_view, name="cart_add"),
    path("cart/update", views.cart_update_view, name="cart_update"),
    path("cart/remove", views.cart_remove_view, name="cart_remove"),
    path("checkout", views.checkout, name="checkout"),
]
